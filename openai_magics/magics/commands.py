"""`%openai SUBCOMMAND …`: subcommands registered by name, each with its own parser and handler.

Command modules register with the `command` decorator when imported; the router imports the modules it was
given (`register_module`), in order, when `%openai` first needs them (up to the one with the subcommand asked
for), so capabilities (chat threads, batches, fine-tuning…) add their own groups without this module knowing
them.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

from openai_magics.core.errors import UsageError
from openai_magics.magics import parsing

MODULES: list[str] = []  # given by the composition root (`OPENAI_COMMANDS`), in order
_commands: dict[str, "Command"] = {}
_loaded: set[str] = set()


@dataclass
class Command:
    name: str
    help: str
    run: Callable                      # (args, shell) -> a result object (or None)
    arguments: Callable = field(default=lambda parser: None)  # adds the command's options to its parser


@dataclass
class Report:
    """What a subcommand answers: its text, and the figures behind it for plain Python."""

    text: str
    data: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(self.text)


def command(name: str, help: str, arguments: Callable | None = None):
    """Decorator: register `function(args, shell)` as `%openai NAME`."""
    def register(function):
        _commands[name] = Command(name, help, function, arguments or (lambda parser: None))
        return function
    return register


def register_module(module: str) -> None:
    """A module whose `@command`s join `%openai` (imported when `%openai` first needs it)."""
    if module not in MODULES:
        MODULES.append(module)


def commands(until: str | None = None) -> dict[str, Command]:
    """Every subcommand; with `until`, only the modules up to the one that registers that name are imported
    (`%openai offline` need not import the batch and fine-tuning groups before the first answer)."""
    for module in MODULES:
        if until is not None and until in _commands:
            break
        if module not in _loaded:
            importlib.import_module(module)
            _loaded.add(module)
    return _commands


def run(line: str, shell):
    """Parse `%openai LINE` and run its subcommand; `%openai` alone is `status`."""
    words = list(parsing.words(line))
    if words and parsing.is_comment(words[0][2]):
        words = []
    name = words[0][3] if words else "status"
    rest = line[words[0][1]:] if words else ""
    table = commands(until=name)
    if name in parsing.HELP:
        print(overview(table))
        return None
    if name not in table:
        raise UsageError(parsing.unknown_word("subcommand", name, sorted(table), "%openai"))
    chosen = table[name]
    parser = _parser(chosen)
    argv = parsing.split(parser, rest)
    if argv is None:
        print(parser.format_help())
        return None
    return chosen.run(parser.parse_args(argv), shell)


def _parser(chosen: Command):
    from IPython.core.magic_arguments import MagicArgumentParser

    parser = MagicArgumentParser(prog=f"openai {chosen.name}", description=chosen.help)  # help adds the %
    chosen.arguments(parser)
    return parser


def overview(table: dict[str, Command]) -> str:
    width = max(map(len, table))
    lines = [f"  {name:<{width}}  {c.help}" for name, c in sorted(table.items())]
    return "\n".join(["%openai SUBCOMMAND [options] — the OpenAI session of this kernel. `%openai SUBCOMMAND -h` "
                      "for one's options.", "", *lines])
