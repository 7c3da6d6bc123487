"""OpenAI's hosted tools on a chat call (Responses API): web search (`--web`), file search over a vector store
(`--files NAME`) and the code interpreter in an automatic container (`--python`, `--file df`). What a cell asks
is read and checked here, before anything is sent; the tools' wire params, the worst case the budget holds for
their calls, and the files uploaded for the container (once, when the request is first sent) follow from it."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from openai_magics.chat.sources import ContainerFile
from openai_magics.facts.data import load
from openai_magics.metering.usage import Usage
from openai_magics.core.errors import UsageError

MAX_TOOL_CALLS = 8  # built-in tool calls a response may make (`max_tool_calls`): what the budget bounds
TOOL_NAMES = {"web": "web search (--web)", "files": "file search (--files)",
              "python": "the code interpreter (--python)"}


@dataclass
class HostedTools:
    web: bool = False
    domains: list[str] = field(default_factory=list)
    location: dict | None = None          # {"type": "approximate", "city", "country"}
    store: str | None = None              # --files: the store's name
    store_id: str | None = None           # and its id on this endpoint
    k: int | None = None
    python: bool = False
    uploads: list[ContainerFile] = field(default_factory=list)
    file_ids: list[str] | None = field(default=None, repr=False)  # the uploads' ids, once sent

    @property
    def names(self) -> list[str]:
        """The tools asked for, in words: ["web search (--web)", …]."""
        asked = {"web": self.web, "files": self.store, "python": self.python}
        return [TOOL_NAMES[name] for name, on in asked.items() if on]

    def params(self) -> list[dict]:
        """The tools as the Responses API takes them. Files not yet uploaded stand as their name and digest, so
        that the cache key and `--dry-run` say what goes up without uploading it."""
        tools = []
        if self.web:
            web = {"type": "web_search"}
            if self.domains:
                web["filters"] = {"allowed_domains": list(self.domains)}
            if self.location:
                web["user_location"] = dict(self.location)
            tools.append(web)
        if self.store:
            search = {"type": "file_search", "vector_store_ids": [self.store_id]}
            if self.k:
                search["max_num_results"] = self.k
            tools.append(search)
        if self.python:
            ids = self.file_ids if self.file_ids is not None else [f"<{u.name} sha256:{u.digest}, uploaded when sent>"
                                                                    for u in self.uploads]
            tools.append({"type": "code_interpreter", "container": {"type": "auto", "file_ids": ids}})
        return tools

    def include(self) -> list[str]:
        """What the answer should carry for its sources and files to be shown."""
        wanted = []
        if self.web:
            wanted.append("web_search_call.action.sources")
        if self.store:
            wanted.append("file_search_call.results")
        if self.python:
            wanted.append("code_interpreter_call.outputs")
        return wanted

    def worst_usage(self) -> Usage:
        """The most one response's tool calls may cost: every allowed call made by the dearest tool offered,
        and one new container."""
        calls = MAX_TOOL_CALLS if self.web or self.store else 0
        return Usage(web_searches=calls if self.web else 0, file_searches=calls if not self.web else 0,
                     containers=1 if self.python else 0)

    def worst_words(self) -> str:
        parts = []
        if self.web or self.store:
            parts.append(f"up to {MAX_TOOL_CALLS} {'web' if self.web else 'file'} searches")
        if self.python:
            parts.append("1 container session")
        return " + ".join(parts)

    def wire(self, body: dict, session) -> dict:
        """The body as sent: the container's files uploaded now (once per request), their ids in place."""
        if not self.python or not self.uploads:
            return body
        if self.file_ids is None:
            from openai_magics.stores.uploads import upload_all

            self.file_ids = upload_all(session, [(u.name, u.data) for u in self.uploads], purpose="user_data")
        tools = [t if t.get("type") != "code_interpreter" else
                 {**t, "container": {**t["container"], "file_ids": list(self.file_ids)}} for t in body["tools"]]
        return {**body, "tools": tools}


def hosted_of(args, shell, session) -> HostedTools | None:
    """The hosted tools a cell (or `chat(web=…, files=…, python=…)`) asks for, checked; None for none."""
    python = args.python
    files_for_python = list(args.file or [])
    if python is not None and not isinstance(python, bool):  # chat(python=df): the data to analyse
        files_for_python += python if isinstance(python, (list, tuple)) else [python]
        python = True
    if not (args.web or args.files or python):
        return None
    tools = HostedTools(web=bool(args.web), python=bool(python))
    if args.domains:
        tools.domains = _domains(args.domains)
    if args.location:
        tools.location = _location(args.location)
    if args.files:
        from openai_magics.stores.engine import store_id

        tools.store, tools.store_id = args.files, store_id(session, args.files)
    facts = load("hosted_tools.json")
    if args.k is not None:
        most = facts["file_search_max_results"]
        if not (isinstance(args.k, int) and not isinstance(args.k, bool) and 1 <= args.k <= most):
            raise UsageError(f"-k must be between 1 and {most}, not {args.k}.")
        tools.k = args.k
    if len(files_for_python) > facts["container_max_files"]:
        raise UsageError(f"--file: a container takes at most {facts['container_max_files']} files, not "
                         f"{len(files_for_python)}. Nothing was uploaded.")
    tools.uploads = [_upload(shell, source) for source in files_for_python]
    return tools


def _domains(text) -> list[str]:
    domains = [d.strip().lower().removeprefix("https://").removeprefix("http://").strip("/")
               for d in (text.split(",") if isinstance(text, str) else text)]
    if not all(domains) or any(" " in d or "." not in d for d in domains):
        raise UsageError(f"--domains takes domains separated by commas (a.com,b.org), not {text!r}.")
    return domains


def _location(text) -> dict:
    city, _, country = str(text).rpartition(",")
    country = country.strip().upper()
    if not city.strip() or len(country) != 2 or not country.isalpha():
        raise UsageError(f"--location takes CITY,COUNTRY with the country's two-letter code (Paris,FR), not {text!r}.")
    return {"type": "approximate", "city": city.strip(), "country": country}


def _upload(shell, source) -> ContainerFile:
    """A file for the container: a DataFrame (as CSV), a Series, a path, or a notebook variable naming either."""
    from openai_magics.stores.uploads import read_upload

    head = source.split(".")[0].split("[")[0] if isinstance(source, str) else ""
    if shell is not None and head.isidentifier() and head in shell.user_ns and not Path(source).exists():
        from openai_magics.magics.kit import variable

        name, value = head, variable(shell, source, "--file")  # df, or df[["a", "b"]]
    else:
        name, value = Path(source).name if isinstance(source, (str, Path)) else "data", source
    file_name, data = read_upload(value, name, "--file")
    return ContainerFile(file_name, data)  # read when the cell ran


class SeenContainers(set):
    """The code interpreter containers this kernel has been billed for: a session is paid once per container."""


def new_containers(session, containers: list[str]) -> int:
    seen = session.part(SeenContainers)
    new = [c for c in containers if c not in seen]
    seen.update(new)
    return len(new)
