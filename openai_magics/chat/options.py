"""Which options each way of asking takes, and the one way a ChatRequest is made from them
(`request_from_args`: `%%chat` in every mode, `chat()` and `%%eval` all make their requests here).

A `%%chat` cell runs in one or more modes (`--over`, `--compare`, `--batch`, `--thread`, `--dry-run`, or
plain); `openai_magics.chat()` is the facade mode and `%%eval` the eval mode. Every option given must be one
that each of the cell's modes takes, else one UsageError line before anything is sent.
"""
from __future__ import annotations

from types import SimpleNamespace

from openai_magics.chat.request import ChatRequest
from openai_magics.core.errors import UsageError

# Every option of %%chat (argparse's dest) and its default: an option is "given" when it differs.
DEFAULTS = {
    "model": None, "system": None, "temperature": None, "max_tokens": None, "stop": [], "seed": None,
    "reasoning_effort": None, "summary": False, "thread": None, "new": False, "api": None, "no_stream": False,
    "format": "markdown", "output": None, "quiet": False, "no_interpolate": False, "no_cache": False,
    "schema": None, "json": False, "tools": None, "max_rounds": None, "image": [], "detail": None,
    "compare": None, "moderate": False, "dry_run": False, "over": None, "concurrency": None, "batch": False,
    "no_wait": False, "to": None, "resume": False,
    "web": False, "domains": None, "location": None, "files": None, "k": None, "python": False, "file": [],
    # the cost levers (chat/levers.py)
    "tier": None, "cache_key": None, "cache_retention": None, "logprobs": None, "background": False,
}
LEVERS = {"tier", "cache_key", "cache_retention"}  # every mode that asks interactively takes these
REQUEST = {"model", "system", "temperature", "max_tokens", "stop", "seed", "reasoning_effort", "api",
           "no_cache", "schema", "json", "tools", "max_rounds", "image", "detail"}
SHOWN = {"output", "quiet", "no_interpolate"}
# --context NAME[,NAME…] (--context-tokens N): notebook variables summarised ahead of the prompt, in every mode
DEFAULTS.update(context=None, context_tokens=None)
REQUEST |= {"context", "context_tokens"}
HOSTED = {"web", "domains", "location", "files", "k", "python", "file"}  # OpenAI's hosted tools (chat.hosted)

# What each mode takes. An option that only makes sense beside another (NEEDS) is refused without it first.
TAKES = {
    "plain": REQUEST | SHOWN | HOSTED | LEVERS | {"summary", "no_stream", "format", "moderate", "dry_run", "thread",
                                                  "new", "compare", "logprobs", "background"},
    "thread": REQUEST | SHOWN | HOSTED | LEVERS | {"summary", "no_stream", "format", "moderate", "dry_run", "thread",
                                                   "new"},
    "dry_run": REQUEST | SHOWN | HOSTED | LEVERS | {"summary", "no_stream", "moderate", "dry_run", "thread", "new",
                                                    "compare", "logprobs", "background", "over", "concurrency"},
    "compare": REQUEST - {"model"} | SHOWN | LEVERS | {"no_stream", "format", "moderate", "dry_run", "compare"},
    "over": REQUEST | SHOWN | LEVERS | {"no_stream", "moderate", "over", "concurrency", "batch", "no_wait",
                                        "logprobs", "dry_run", "to", "resume"},
    "batch": REQUEST - {"api", "tools", "max_rounds", "no_cache"} | SHOWN | {"no_stream", "over", "batch",
                                                                           "no_wait"},
    "facade": REQUEST | HOSTED | LEVERS | {"summary", "no_stream", "thread", "new", "dry_run", "logprobs",
                                           "background"},
    "eval": {"model", "system", "temperature", "max_tokens", "seed", "no_cache", "output", "quiet", "concurrency",
             "context", "context_tokens", "tier", "dry_run"},
}
NEEDS = {"context_tokens": "context", "new": "thread", "detail": "image", "max_rounds": "tools", "concurrency": "over",
         "batch": "over", "no_wait": "batch", "cache_retention": "cache_key",
         "domains": "web", "location": "web", "k": "files", "file": "python",
         "to": "over", "resume": "to"}
WHY = {  # the reason a mode refuses an option, where the flag alone does not say it
    ("over", "summary"): "each row's answer is its text",
    ("over", "format"): "the answers come back as a Series, one per row",
    ("over", "compare"): "ask one model per run (run the cell once per model)",
    ("over", "thread"): "each row is asked on its own",
    ("batch", "tier"): "the Batch API has its own price (half of the default tier's)",
    ("batch", "cache_key"): "a batch's rows are cached by the Batch API as it sees fit",
    ("batch", "cache_retention"): "a batch's rows are cached by the Batch API as it sees fit",
    ("batch", "logprobs"): "the answers arrive in a file as text",
    ("batch", "dry_run"): "%%chat --over NAME --dry-run (without --batch) shows what the batch would cost too",
    ("over", "background"): "each row is answered in the cell; --batch runs the rows on the server",
    ("thread", "background"): "a background response is collected on its own, not as a turn",
    ("thread", "logprobs"): "ask it outside the thread",
    ("compare", "logprobs"): "ask one model at a time",
    ("compare", "background"): "ask one model at a time",
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
    **{(mode, tool): why for tool in HOSTED for mode, why in (
        ("over", "each row is asked on its own; ask one question with the tool per cell"),
        ("compare", "a hosted tool runs for one model at a time; run the cell once per model"),
        ("batch", "hosted tools run with the Responses API, not in a batch"))},
}
FACADE_NAMES = {"new_thread": "new", "reasoning_summary": "summary", "images": "image"}


SHORT_FLAGS = {"model": "-m", "k": "-k"}


def flag(dest: str) -> str:
    return SHORT_FLAGS.get(dest) or "--" + dest.replace("_", "-")


def changed_options(args) -> set[str]:
    """The options set to something other than their default."""
    return {name for name, default in DEFAULTS.items() if getattr(args, name, default) not in (default, None)}


def modes_of(args) -> list[str]:
    """The modes a %%chat cell runs in; `-m a,b` is a comparison."""
    if not args.compare and args.model and "," in args.model:
        args.compare, args.model = args.model, None
    modes = [m for m in ("over", "batch", "compare", "thread", "dry_run") if getattr(args, m, None)]
    return modes or ["plain"]


def check_options(args, modes: list[str]) -> None:
    """One UsageError line for an option the cell's modes do not take, before anything is looked up or sent."""
    options = changed_options(args)
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
    if args.context is not None:
        features["context"] = context_of_args(args.context, args.context_tokens, shell, model)
    if args.web or args.files or args.python is not False and args.python is not None:
        from openai_magics.chat.hosted import hosted_of
        from openai_magics.core.session import session

        features["hosted"] = hosted_of(args, shell, session())
    return ChatRequest(
        prompt=prompt, model=model, system=expand(args.system, shell, not args.no_interpolate),
        temperature=args.temperature, max_tokens=args.max_tokens, stop=list(args.stop or []), seed=args.seed,
        reasoning_effort=args.reasoning_effort, reasoning_summary=bool(args.summary), api=args.api or "auto",
        stream=stream, thread=args.thread, new_thread=bool(args.new), turn_key=turn_key() if args.thread else None,
        cache=not args.no_cache, dry_run=bool(args.dry_run), moderate=bool(args.moderate), **features,
        **lever_fields(args))


def lever_fields(args) -> dict:
    """The cost levers' options as ChatRequest fields."""
    return {"service_tier": getattr(args, "tier", None), "cache_key": getattr(args, "cache_key", None),
            "cache_retention": getattr(args, "cache_retention", None), "logprobs": getattr(args, "logprobs", None),
            "background": bool(getattr(args, "background", False))}


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


def context_of_args(context, tokens, shell, model: str):
    """The summaries `--context df,x` (or `chat(..., context=[df])`) sends ahead of the prompt: names are looked
    up in the notebook, objects are named after the notebook variable that holds them."""
    from openai_magics.core.session import session
    from openai_magics.magics.kit import check_positive
    from openai_magics.magics.summaries import Context, context_of, named_objects, named_values

    if isinstance(context, Context):  # summarised once for many questions (%%eval's rows)
        return context
    check_positive(tokens, "--context-tokens")
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    if isinstance(context, str):
        if shell is None:
            raise UsageError("context= names notebook variables only in IPython: pass the objects, context=[df].")
        named = named_values(context, shell)
    else:
        named = named_objects(context, shell.user_ns if shell is not None else None)
    return context_of(named, model, tokens, session())


def _image_source(shell, source):
    """A notebook variable when one has that name, else the path or URL as written."""
    if shell is not None and isinstance(source, str) and source.isidentifier() and source in shell.user_ns:
        from openai_magics.magics.kit import variable

        return variable(shell, source, "--image")
    return source
