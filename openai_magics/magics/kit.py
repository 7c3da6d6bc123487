"""What every magic shares: one parse path, the shared options, interpolation, one way to find a notebook
variable, binding `-o`, and whether the frontend is a terminal."""
from __future__ import annotations

import sys

from IPython.core.magic import Magics, cell_magic, line_cell_magic, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments

from openai_magics.core.errors import UsageError
from openai_magics.core.namespace import MISSING, interpolate, resolve
from openai_magics.magics import parsing

# The options several magics take, declared once: (flags, argparse keywords).
SHARED = {
    "model": (("-m", "--model"), {"metavar": "MODEL", "help": "Model (default: `%%openai model KIND NAME`)."}),
    "system": (("-s", "--system"), {"help": "System prompt."}),
    "temperature": (("-t", "--temperature"), {"type": float, "help": "Sampling temperature, 0 to 2."}),
    "max_tokens": (("--max-tokens",), {"type": int, "help": "Most tokens the answer may use (reasoning included)."}),
    "seed": (("--seed",), {"type": int, "help": "Seed for more reproducible sampling (Chat Completions only)."}),
    "output": (("-o", "--output"), {"metavar": "NAME", "help": "Also bind the result to this variable."}),
    "quiet": (("-q", "--quiet"), {"action": "store_true", "help": "Display nothing and return nothing (use with -o)."}),
    "no_interpolate": (("--no-interpolate",), {"action": "store_true", "help": "Send {braces} as written."}),
    "no_cache": (("--no-cache",), {"action": "store_true",
                                   "help": "Ask the API even when the response cache holds the answer."}),
    "dry_run": (("--dry-run",), {"action": "store_true",
                                 "help": "Show what would be sent, its tokens and worst-case cost; send nothing."}),
    "batch": (("--batch",), {"action": "store_true", "help": "Run the rows (%%chat --over) or the texts (%%embed) "
                                                             "through the Batch API: half price, results within a "
                                                             "day."}),
    "no_wait": (("--no-wait",), {"action": "store_true", "help": "With --batch: submit and return at once; "
                                                               "`%%openai batch results ID` collects it."}),
    "concurrency": (("--concurrency",), {"type": int, "help": "Most requests in flight at once (default 8)."}),
    "context": (("--context",), {"metavar": "NAME[,NAME…]",
                                 "help": "Notebook variables the model is told about, each summarised (a DataFrame: "
                                         "shape, dtypes, nulls, describe(), a few rows) ahead of the prompt."}),
    "context_tokens": (("--context-tokens",), {"type": int, "metavar": "N",
                                               "help": "With --context: the most tokens the summaries take in all "
                                                       "(default 2000)."}),
    "tier": (("--tier",), {"metavar": "TIER",
                           "help": "The service tier: flex (about half price, slower, sometimes no capacity), "
                                   "priority, default, auto, or flex-or-default (flex, once the default tier when "
                                   "flex has no capacity)."}),
}


def shared_options(*names: str):
    """Decorator: add the named SHARED options, in the order given, to a `magic_arguments` magic."""
    def apply(function):
        for name in reversed(names):
            flags, keywords = SHARED[name]
            function = argument(*flags, **keywords)(function)
        return function
    return apply


def prompt_cell_magic(*options, last=("output", "quiet", "no_interpolate", "no_cache"), what: str = "the cell"):
    """Decorator: a cell magic whose cell is what is sent (%%image, %%video, %%speak). It takes `-m`, then its own
    `options` (`argument(...)` decorators, in the order its help lists them), then the shared `last` ones. The
    method is called as `method(self, args, text)`: the options read from the line and the cell's text, filled in
    unless --no-interpolate; an empty cell is refused before anything is sent, and `-h` only shows the help."""
    def apply(body):
        def magic(self, line: str, cell: str):
            args = parse(magic, line)
            if args is None:
                return None
            return body(self, args, require_text(expand(cell, self.shell, not args.no_interpolate), what))

        _named_after(magic, body)
        function = shared_options(*last)(cell_magic(magic))
        for option in reversed(options):
            function = option(function)
        return no_var_expand(magic_arguments()(shared_options("model")(function)))
    return apply


def line_or_cell_magic(words: str = "text", what: str = "the text"):
    """Decorator, under `@magic_arguments()` and the magic's options: a magic used as `%name WORDS…` on one line
    or as `%%name` over a cell (%chat, %embed, %tokens, %moderate, %transcribe). The rest of the line is its
    `words`. The method is called as `method(self, args, text)`: the options read from the line, and the cell
    (or the rest of the line) as written; `args.in_cell` says which. Words after the options of a `%%` line are
    refused, and `-h` only shows the help."""
    def apply(body):
        def magic(self, line: str, cell: str | None = None):
            args = parse(magic, line)
            if args is None:
                return None
            given = getattr(args, words)
            if cell is not None and given:
                raise UsageError(f"Unexpected text on the %%{body.__name__} line: {' '.join(given)!r}.")
            args.in_cell = cell is not None
            return body(self, args, cell if cell is not None else " ".join(given))

        _named_after(magic, body)
        magic = no_var_expand(line_cell_magic(magic))
        return FreeTextArgument(words, nargs="*", help=f"With %%{body.__name__} (one line): {what}.")(magic)
    return apply


class FreeTextArgument(argument):
    """`argument` for a magic's free-text positional: listed with the positional arguments in the help, not in
    the option group declared last (IPython puts each argument in the group declared before it)."""

    def add_to_parser(self, parser, group):
        return super().add_to_parser(parser, None)


def _named_after(magic, body) -> None:
    magic.__name__, magic.__qualname__, magic.__doc__ = body.__name__, body.__qualname__, body.__doc__
    magic.__module__, magic.__wrapped__ = body.__module__, body  # `%%image?` names the magic's own file


def parse(magic_fn, line: str):
    """The magic's options (see parsing.parse); None when help was shown. A bad `-o NAME` is refused here,
    before anything is sent."""
    args = parsing.parse(magic_fn, line)
    output = getattr(args, "output", None)
    if output is not None and not output.isidentifier():
        raise UsageError(f"-o needs a Python name, not {output!r}.")
    return args


def variable(shell, expression: str, option: str):
    """The notebook value an option names (`df`, `df.text`, `df['text']`, `{df}`): one clear line if none."""
    name = expression.strip()
    if name[:1] == "{" and name[-1:] == "}":
        name = name[1:-1].strip()
    value = resolve(name, shell.user_ns) if name[:1].isidentifier() else MISSING
    if value is MISSING:
        raise UsageError(f"{option} {expression}: no such variable (or column) in the notebook.")
    return value


def image_option(shell, source: str, option: str, formats=("PNG", "JPEG", "WEBP")):
    """The image an option names: a notebook variable (PIL image, numpy array, figure, bytes) or a path."""
    from openai_magics.magics.images import read_named_image

    value = variable(shell, source, option) if source in shell.user_ns else source
    return read_named_image(value, source, option, formats)


def expand(text: str | None, shell, enabled: bool = True) -> str | None:
    if text is None or not enabled or shell is None:
        return text
    filled = interpolate(text, shell.user_ns)
    if filled.left_as_written:  # most likely a misspelt name: say so rather than send it silently
        print("left as written:", ", ".join(filled.left_as_written))
    return filled.text


def require_text(text: str | None, what: str = "the cell") -> str:
    if not text or not text.strip():
        raise UsageError(f"Nothing to send: {what} is empty.")
    check_sendable(text, what)
    return text.strip()


def check_sendable(text: str, what: str) -> None:
    """Text that UTF-8 can carry: a lone surrogate (half of a broken emoji, from bad decoding) cannot be sent."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start:exc.end]
        raise UsageError(f"{what} holds {bad!r} at character {exc.start:,}: half of a character (a lone surrogate, "
                         "often from a file decoded wrongly) that cannot be sent. Clean it, e.g. "
                         "text.encode('utf-8', 'replace').decode().") from None


def bind(shell, name: str | None, value) -> None:
    if name:
        if not name.isidentifier():
            raise UsageError(f"-o needs a Python name, not {name!r}.")
        shell.user_ns[name] = value


def bind_then_save(shell, name: str | None, result, folder: str | None, what: str) -> bool:
    """Bind a paid result to -o, then write it to `folder` (`--save`): a failure to write is one line on
    stderr, and the result is still bound. False when the save failed: the cell then returns the result
    even under -q, so that without -o it is still in `_`."""
    bind(shell, name, result)
    if not folder:
        return True
    try:
        result.save(folder)
    except OSError as exc:
        kept = f"`{name}`" if name else "the result (`_`)"
        print(f"Not saved to {folder}: {exc.strerror or type(exc).__name__}. The {what} is kept in {kept}; "
              "`.save(PATH)` writes it elsewhere.", file=sys.stderr)
        return False
    return True


def is_terminal(shell) -> bool:
    return type(shell).__name__ == "TerminalInteractiveShell"


def check_positive(value, option: str) -> None:
    if value is not None and value <= 0:
        raise UsageError(f"{option} must be positive, not {value}.")


_QUESTION_LINE = None


def keep_question_marks(lines: list[str]) -> list[str]:
    """IPython reads a line magic that ends in '?' as a help request; `%chat Is it prime?` is a question.

    An input transformer (run before IPython's own) turns such lines into the call IPython would have
    made, so the '?' reaches the prompt. Only lines that are themselves a `%chat`/`%tokens`/`%fix`/`%explain`
    line magic: not a cell magic's body (`%%writefile`, `%%chat`…), not a line inside a string. `%chat?` alone
    still shows the help.
    """
    import re

    global _QUESTION_LINE
    if _QUESTION_LINE is None:
        _QUESTION_LINE = re.compile(r"^(\s*)%(chat|tokens|fix|explain)\s+(\S.*\?)\s*$")
    if not lines or lines[0].lstrip().startswith("%%"):
        return lines
    candidates = [i for i, line in enumerate(lines) if _QUESTION_LINE.match(line)]
    if not candidates:
        return lines
    inside = _lines_inside_strings(lines)
    out = list(lines)
    for i in candidates:
        match = _QUESTION_LINE.match(lines[i])
        if i in inside or match.group(3).startswith("?"):
            continue
        indent, name, rest = match.groups()
        out[i] = f"{indent}get_ipython().run_line_magic({name!r}, {rest!r})\n"
    return out


def _lines_inside_strings(lines: list[str]) -> set[int]:
    """Indices of the lines that continue a multi-line string (or follow a backslash continuation), read
    with every line magic blanked out; when the cell is not Python, every line but a single-line cell's."""
    import io
    import tokenize

    python = "".join(f"{line[:len(line) - len(line.lstrip())]}pass\n" if line.lstrip().startswith("%") else line
                     for line in lines)
    inside: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(python).readline):
            first, last = token.start[0], token.end[0]
            if last > first:  # a token over several lines: the lines after its first are inside it
                inside.update(range(first, last))  # 1-based rows → 0-based indices of the rows after
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return set(range(1, len(lines))) if len(lines) > 1 else set()
    for i, line in enumerate(lines[:-1]):
        if line.rstrip("\n").endswith("\\"):
            inside.add(i + 1)
    return inside


def guarded(magic_fn):
    """A registered magic inside the one error boundary: whatever fails shows as one line, key redacted. Like a
    plain-Python function, it runs after the warm-ups started (`%openai offline` and another magic in one cell:
    the imports happen once, in turn)."""
    import functools

    from openai_magics.wire.errors import boundary
    from openai_magics.core.session import session

    @functools.wraps(magic_fn)
    def run(*args, **kwargs):
        with boundary(session):
            return magic_fn(*args, **kwargs)

    return after_warm_up(run)


def after_warm_up(function):
    """`function` (a capability's plain-Python function), called once the warm-ups started are done, as a magic
    is: `openai_magics.chat(…)` in the cell that ran `%openai offline` would otherwise import the SDK beside the
    warm-up."""
    import functools

    @functools.wraps(function)
    def call(*args, **kwargs):
        from openai_magics.wire.sdk import wait_for_warm_up

        wait_for_warm_up()
        return function(*args, **kwargs)

    return call


def guard_all(magics) -> None:
    """Put every magic of a Magics instance inside the boundary (before it is registered)."""
    for table in magics.magics.values():
        for name, magic_fn in table.items():
            table[name] = guarded(magic_fn)


class GuardedMagics(Magics):
    """Magics whose every magic runs inside the error boundary, whoever makes the instance: IPython makes it
    itself when a lazily declared magic is first used."""

    def __init__(self, shell=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        guard_all(self)
