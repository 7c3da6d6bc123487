"""Which options each way of asking takes, and the one way a ChatRequest is made from them
(`request_from_args`: `%%chat` in every mode, `chat()` and `%%eval` all make their requests here).

A `%%chat` cell runs in one or more modes (`--over`, `--compare`, `--batch`, `--thread`, `--dry-run`, or
plain); `openai_magics.chat()` is the facade mode and `%%eval` the eval mode. Every option given must be one
that each of the cell's modes takes, else one UsageError line before anything is sent.
"""
from __future__ import annotations

from types import SimpleNamespace

from openai_magics.chat.request import ChatRequest
from openai_magics.wire.errors import UsageError

# Every option of %%chat (argparse's dest) and its default: an option is "given" when it differs.
DEFAULTS = {
    "model": None, "system": None, "temperature": None, "max_tokens": None, "stop": [], "seed": None,
    "reasoning_effort": None, "summary": False, "thread": None, "new": False, "api": None, "no_stream": False,
    "format": "markdown", "output": None, "quiet": False, "no_interpolate": False, "no_cache": False,
    "schema": None, "json": False, "tools": None, "max_rounds": None, "image": [], "detail": None,
    "compare": None, "moderate": False, "dry_run": False, "over": None, "concurrency": None, "batch": False,
    "no_wait": False, "to": None, "resume": False,
}
REQUEST = {"model", "system", "temperature", "max_tokens", "stop", "seed", "reasoning_effort", "api",
           "no_cache", "schema", "json", "tools", "max_rounds", "image", "detail"}
SHOWN = {"output", "quiet", "no_interpolate"}

# What each mode takes. An option that only makes sense beside another (NEEDS) is refused without it first.
TAKES = {
    "plain": REQUEST | SHOWN | {"summary", "no_stream", "format", "moderate", "dry_run", "thread", "new",
                                "compare"},
    "thread": REQUEST | SHOWN | {"summary", "no_stream", "format", "moderate", "dry_run", "thread", "new"},
    "dry_run": REQUEST | SHOWN | {"summary", "no_stream", "moderate", "dry_run", "thread", "new", "compare"},
    "compare": REQUEST - {"model"} | SHOWN | {"no_stream", "format", "moderate", "dry_run", "compare"},
    "over": REQUEST | SHOWN | {"no_stream", "moderate", "over", "concurrency", "batch", "no_wait", "to", "resume"},
    "batch": REQUEST - {"api", "tools", "max_rounds", "no_cache"} | SHOWN | {"no_stream", "over", "batch",
                                                                           "no_wait"},
    "facade": REQUEST | {"summary", "no_stream", "thread", "new", "dry_run"},
    "eval": {"model", "system", "temperature", "max_tokens", "seed", "no_cache", "output", "quiet", "concurrency"},
}
NEEDS = {"new": "thread", "detail": "image", "max_rounds": "tools", "concurrency": "over", "batch": "over",
         "no_wait": "batch", "to": "over", "resume": "to"}
WHY = {  # the reason a mode refuses an option, where the flag alone does not say it
    ("over", "summary"): "each row's answer is its text",
    ("over", "format"): "the answers come back as a Series, one per row",
    ("over", "compare"): "ask one model per run (run the cell once per model)",
    ("over", "thread"): "each row is asked on its own",
    ("over", "dry_run"): "each row is asked on its own; %%chat --dry-run shows one request",
    ("batch", "tools"): "a batch cannot run your functions between rounds",
    ("batch", "max_rounds"): "a batch cannot run your functions between rounds",
    ("batch", "moderate"): "the answers arrive in a file, unchecked",
    ("batch", "api"): "the Batch API takes Chat Completions bodies",
    ("batch", "no_cache"): "a batch is never answered from the cache",
    ("batch", "to"): "a batch's results come back from its own files",
    ("batch", "resume"): "`%openai batch resume` carries a batch over a restart",
    ("compare", "model"): "--compare names the models",
    ("compare", "thread"): "a thread continues one model's conversation",
    ("compare", "summary"): "the columns show the answers only",
    ("thread", "compare"): "a thread continues one model's conversation",
    ("dry_run", "format"): "nothing is answered",
}
FACADE_NAMES = {"new_thread": "new", "reasoning_summary": "summary", "images": "image"}


def flag(dest: str) -> str:
    return "-m" if dest == "model" else "--" + dest.replace("_", "-")


def given(args) -> set[str]:
    """The options set to something other than their default."""
    return {name for name, default in DEFAULTS.items() if getattr(args, name, default) not in (default, None)}


def modes_of(args) -> list[str]:
    """The modes a %%chat cell runs in; `-m a,b` is a comparison."""
    if not args.compare and args.model and "," in args.model:
        args.compare, args.model = args.model, None
    modes = [m for m in ("over", "batch", "compare", "thread", "dry_run") if getattr(args, m)]
    return modes or ["plain"]


def check_options(args, modes: list[str]) -> None:
    """One UsageError line for an option the cell's modes do not take, before anything is looked up or sent."""
    options = given(args)
    for option in sorted(options):
        needed = NEEDS.get(option)
        if needed and needed not in options:
            raise UsageError(f"{flag(option)} goes with {flag(needed)}. Nothing was sent.")
    for mode in modes:
        for option in sorted(options - TAKES[mode] - {mode}):
            what = "chat()" if mode == "facade" else "%%eval" if mode == "eval" else flag(mode)
            shown = f"{option}=" if mode == "facade" else flag(option)
            why = WHY.get((mode, option)) or WHY.get((option, mode))
            raise UsageError(f"{what} does not take {shown}{f': {why}' if why else ''}. Nothing was sent.")


def facade_args(**options) -> SimpleNamespace:
    """`chat(...)`'s keywords as the options of a cell; one UsageError for a keyword it does not take."""
    args = dict(DEFAULTS)
    for name, value in options.items():
        dest = FACADE_NAMES.get(name, name)
        if dest not in TAKES["facade"]:
            raise UsageError(f"chat() does not take {name}=; it takes {', '.join(facade_keywords())}.")
        args[dest] = value
    return SimpleNamespace(**args)


def facade_keywords() -> list[str]:
    """chat()'s keywords, as a user writes them."""
    spelt = {dest: name for name, dest in FACADE_NAMES.items()} | {"no_cache": "cache", "no_stream": "stream"}
    return sorted({spelt.get(dest, dest) for dest in TAKES["facade"]} | {"session", "view"})


def request_from_args(args, shell, *, prompt: str, model: str, stream: bool) -> ChatRequest:
    """The ChatRequest of a cell (or of `chat()`, `%%eval`): names in `args` are looked up in the notebook;
    the facade passes the objects themselves."""
    from openai_magics.core.cell import turn_key
    from openai_magics.magics.kit import expand

    features = {"json_mode": bool(args.json), "detail": args.detail}
    if args.max_rounds is not None:
        features["max_rounds"] = args.max_rounds
    if args.schema is not None:
        features.update(schema_of(args.schema, shell))
    if args.tools is not None:
        features["tools"] = tools_of(args.tools, shell)
    if args.image:
        features["images"] = images_of(args.image, shell)
    return ChatRequest(
        prompt=prompt, model=model, system=expand(args.system, shell, not args.no_interpolate),
        temperature=args.temperature, max_tokens=args.max_tokens, stop=list(args.stop or []), seed=args.seed,
        reasoning_effort=args.reasoning_effort, reasoning_summary=bool(args.summary), api=args.api or "auto",
        stream=stream, thread=args.thread, new_thread=bool(args.new), turn_key=turn_key() if args.thread else None,
        cache=not args.no_cache, dry_run=bool(args.dry_run), moderate=bool(args.moderate), **features)


def schema_of(schema, shell) -> dict:
    if isinstance(schema, str):
        from openai_magics.chat.structured import find_schema

        return {"schema": find_schema(schema, shell.user_ns if shell else {}), "schema_name": schema}
    return {"schema": schema, "schema_name": getattr(schema, "__name__", "schema")}


def tools_of(tools, shell) -> list:
    from openai_magics.chat.tools import find_tools, tool_from_function

    if isinstance(tools, str):
        return find_tools(tools, shell.user_ns if shell else {})
    return [tool_from_function(f) for f in tools]


def images_of(images, shell) -> list:
    from openai_magics.chat.vision import encode

    encoded = []
    for index, image in enumerate(images):
        label = image if isinstance(image, str) else f"image {index + 1}"
        encoded.append(encode(_image_source(shell, image), label))
    return encoded


def _image_source(shell, source):
    """A notebook variable when one has that name, else the path or URL as written."""
    if shell is not None and isinstance(source, str) and source.isidentifier() and source in shell.user_ns:
        from openai_magics.magics.kit import variable

        return variable(shell, source, "--image")
    return source
