"""One parse path for every magic: options as the shell would split them (quotes removed), free text after
the options exactly as typed, a trailing `# comment` dropped, `-h`/`--help` everywhere, and "did you mean
--model?" for a slip.

IPython's own splitter keeps quotes on values and breaks on a lone apostrophe (`-s 'It's fine'`), so the
line is tokenised here and handed to the magic's `magic_arguments` parser as a ready argument list.
"""
from __future__ import annotations

import difflib
import re

from openai_magics.core.errors import UsageError

HELP = ("-h", "--help")


def words(line: str):
    """(start, end, raw, value) of each shell-like word. A quoted value runs to the matching quote that ends
    the word, so `'It's fine'` is `It's fine`; an unquoted word (`df['text']`) is kept as written."""
    i, n = 0, len(line)
    while i < n:
        if line[i].isspace():
            i += 1
            continue
        end, value = _word_at(line, i)
        yield i, end, line[i:end], value
        i = end


def _word_at(line: str, i: int) -> tuple[int, str]:
    match = re.match(r"(--?[A-Za-z][\w-]*=)(['\"])", line[i:])
    if match:  # --option="quoted value"
        end, value = _quoted(line, i + len(match.group(1)))
        return end, match.group(1) + value
    if line[i] in "'\"":
        return _quoted(line, i)
    end = re.compile(r"\S+").match(line, i).end()
    return end, line[i:end]


def _quoted(line: str, i: int) -> tuple[int, str]:
    quote, j = line[i], i + 1
    while True:
        k = line.find(quote, j)
        if k == -1:  # unbalanced: the rest of the line is the value
            return len(line), line[i + 1:]
        if quote == '"' and line[k - 1] == "\\":
            j = k + 1
            continue
        if k + 1 == len(line) or line[k + 1].isspace():
            value = line[i + 1:k]
            return k + 1, value.replace('\\"', '"') if quote == '"' else value
        j = k + 1


def is_comment(raw: str, in_free_text: bool = False) -> bool:
    """Whether an unquoted word starts a trailing comment, as `# …` does in Python: any word that starts with
    `#`, except for a magic that takes free text (a prompt), where only a lone `#` does, so "#hashtags" stay
    text."""
    return raw == "#" if in_free_text else raw.startswith("#")


def without_comment(text: str) -> str:
    """Free text without its trailing ` # comment` (a `#` inside quotes is text)."""
    for start, _end, raw, _value in words(text):
        if is_comment(raw, in_free_text=True):
            return text[:start]
    return text


def _is_value_of(action, raw: str, value: str) -> bool:
    """Whether the word after an option whose value may be left out is its value (`--logprobs 3`), rather than
    the next option or the prompt (`--logprobs Name a colour`)."""
    if _looks_like_option(raw):
        return False
    try:
        (action.type or str)(value)
    except (TypeError, ValueError):
        return False
    return True


def parse(magic_fn, line: str):
    """The options of `magic_fn` (a `magic_arguments` function) read from `line`; None after showing help."""
    parser = magic_fn.parser
    argv = split(parser, line)
    if argv is None:
        print(parser.format_help())
        return None
    return parser.parse_args(argv)


def split(parser, line: str) -> list[str] | None:
    """The argument list for `parser`, None when help is asked for. Options and their values are unquoted.
    A magic whose one positional is free text (the prompt of `%chat`) gets the text that follows its options
    as one argument, byte for byte; other positionals get one word each."""
    options = parser._option_string_actions
    free_text = _takes_free_text(parser)
    argv: list[str] = []
    position, expecting_value, maybe_value = 0, None, None
    for _start, end, raw, value in words(line):
        if expecting_value is not None:
            argv.append(value)
            expecting_value, position = None, end
            continue
        if maybe_value is not None and _is_value_of(maybe_value, raw, value):
            argv.append(value)
            maybe_value, position = None, end
            continue
        if maybe_value is not None:  # left out: said as `--option=CONST`, so argparse takes no word after it
            argv[-1] = f"{argv[-1]}={maybe_value.const}"
        maybe_value = None
        if raw in HELP:
            return None
        if is_comment(raw, in_free_text=free_text):
            position = len(line)
            break
        if raw == "--":
            position = end
            break
        if not _looks_like_option(raw):
            if free_text:
                break
            argv.append(value)
            position = end
            continue
        name = raw.split("=", 1)[0]
        action = options.get(name) or _unique_prefix(options, name)
        if action is None:
            raise UsageError(unknown_option(parser, name))
        argv.append(value)
        if action.nargs == "?" and "=" not in raw:
            maybe_value = action  # `--logprobs` alone, or `--logprobs 3`: the next word, if it fits
        elif action.nargs != 0 and "=" not in raw:
            expecting_value = name
        position = end
    if expecting_value is not None:
        raise UsageError(f"%{parser.prog}: {expecting_value} needs a value.")
    rest = without_comment(line[position:]).strip()
    if rest:
        argv.append(rest)
    return argv


def _takes_free_text(parser) -> bool:
    positionals = [a for a in parser._actions if not a.option_strings]
    return len(positionals) == 1 and positionals[0].nargs == "*"


def _looks_like_option(word: str) -> bool:
    return bool(re.match(r"--?[A-Za-z]", word))


def _unique_prefix(options: dict, name: str):
    """argparse's own abbreviations (`--max-tok` for `--max-tokens`), when they name one option."""
    if not name.startswith("--"):
        return None
    found = {options[o] for o in options if o.startswith(name)}
    return found.pop() if len(found) == 1 else None


def unknown_option(parser, name: str) -> str:
    known = [o for o in parser._option_string_actions if o.startswith("--")] or list(parser._option_string_actions)
    guess = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f" did you mean {guess[0]}?" if guess else f" %{parser.prog} -h lists them."
    return f"%{parser.prog}: unknown option {name}:{hint}"


def unknown_word(kind: str, word: str, choices: list[str], prog: str) -> str:
    guess = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    hint = f"did you mean {guess[0]}?" if guess else f"one of {', '.join(choices)}."
    return f"{prog}: unknown {kind} {word!r}: {hint}"


def either(values) -> str:
    """`a, b or c`: the values an option takes, for a one-line error."""
    values = [str(v) for v in values]
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]


def model_rules(rules_type, name: str, facts: dict | None, table: dict, kind: str):
    """`rules_type` made from a model's row of a facts file (its lists as tuples); for a model the file does not
    have, one line naming those it has."""
    if facts is None:
        article = "an" if kind[0] in "aeiou" else "a"
        raise UsageError(f"-m {name}: not {article} {kind} model; {kind} models are {either(list(table))}.")
    return rules_type(name=name, **{k: tuple(v) if isinstance(v, list) else v for k, v in facts.items()})
