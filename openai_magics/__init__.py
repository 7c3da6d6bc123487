"""openai-magics: the whole OpenAI platform one notebook cell away.

`%load_ext openai_magics` registers the magics; `openai_magics.session()` is the kernel's shared session;
`openai_magics.chat("…")`, `openai_magics.embed(texts)`, `openai_magics.image("…")` and `openai_magics.video("…")` do from plain Python what the magics do.
Loading is light on purpose: openai, widgets, numpy, pandas and the price tables load on first use.

This module is the composition root: the one place that knows every capability.
"""
import functools

from openai_magics.core.session import make_sessions_with, session
# Each capability's plain-Python functions. Importing them here, before any of their packages is imported from
# elsewhere, is what keeps `openai_magics.chat` the function: Python binds a package to its parent's
# attribute of the same name only when the package is first imported.
from openai_magics.audio.facade import speak, transcribe
from openai_magics.batch.facade import batch
from openai_magics.chat.facade import chat
from openai_magics.embed.facade import embed
from openai_magics.evals.facade import evaluate as evals
from openai_magics.finetune.facade import finetune
from openai_magics.fix.facade import explain, fix
from openai_magics.image.facade import image
from openai_magics.moderation.facade import moderation
from openai_magics.stores.facade import store
from openai_magics.video.facade import video

__version__ = "0.1.0"
__all__ = ["session", "chat", "embed", "image", "video", "batch", "finetune", "transcribe", "speak", "fix", "explain",
           "evals", "moderation", "store", "load_ipython_extension", "unload_ipython_extension"]

# Each capability's Magics class, as "module:Class", and the magics it provides: declared when the extension
# loads (IPython's register_lazy where it has it), imported the first time one of them is used or its help
# asked for. `%openai` is made at once: `%config OpenAIMagics.…` must find it.
MAGICS = {
    "openai_magics.tokens.magic:TokensMagics": {"tokens": "line_cell"},
    "openai_magics.chat.magic:ChatMagics": {"chat": "line_cell"},
    "openai_magics.embed.magic:EmbedMagics": {"embed": "line_cell"},
    "openai_magics.audio.magic:AudioMagics": {"transcribe": "line_cell", "speak": "cell"},
    "openai_magics.image.magic:ImageMagics": {"image": "cell"},
    "openai_magics.video.magic:VideoMagics": {"video": "cell"},
    "openai_magics.moderation.magic:ModerationMagics": {"moderate": "line_cell"},
    "openai_magics.evals.magic:EvalMagics": {"eval": "cell"},
    "openai_magics.fix.magic:FixMagics": {"fix": "line", "explain": "line"},
}
# Every module whose `@command`s make `%openai`'s subcommands: the session's own, then each capability's group.
OPENAI_COMMANDS = ("openai_magics.control.session_commands", "openai_magics.control.usage_commands",
                   "openai_magics.control.cache_commands", "openai_magics.control.pin_commands",
                   "openai_magics.control.offline_commands", "openai_magics.chat.commands",
                   "openai_magics.finetune.commands", "openai_magics.batch.commands",
                   "openai_magics.stores.commands", "openai_magics.chat.background_commands")


def _metered_session():
    """The kernel's session with its SDK client, ledger and prices (layers above core's), imported when the
    first session is made: loading the extension stays light."""
    from openai_magics.metering.session import MeteredSession

    return MeteredSession()


make_sessions_with(_metered_session)

_made: list = []  # Magics instances made here (IPython makes the lazily declared ones itself)
_declared: list = []  # (kind, name, "module:Class") of the magics declared, made or not


def load_ipython_extension(ipython) -> None:
    from openai_magics.core.cell import on_pre_run_cell
    from openai_magics.magics.kit import keep_question_marks

    if on_pre_run_cell not in ipython.events.callbacks["pre_run_cell"]:
        ipython.events.register("pre_run_cell", on_pre_run_cell)
    if keep_question_marks not in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.insert(0, keep_question_marks)

    from openai_magics.magics.commands import register_module

    for module in OPENAI_COMMANDS:
        register_module(module)
    _settings_from_environment()
    from openai_magics.control.magic import OpenAIMagics

    magic = OpenAIMagics(shell=ipython)
    _register(ipython, magic)
    if magic not in ipython.configurables:  # so that %config OpenAIMagics.… reaches it (IPython's Magics adds itself)
        ipython.configurables.append(magic)
    magic.update_config(ipython.config)
    manager = ipython.magics_manager
    for target, magics in MAGICS.items():
        if hasattr(manager, "register_lazy"):  # IPython ≥ 9.19
            for name, kinds in magics.items():
                manager.register_lazy(name, target, kinds)
                _declared.extend((kind, name, target) for kind in _kinds(kinds))
        else:
            from openai_magics.magics.lazy import MagicsLoader, declare

            loader = MagicsLoader(ipython, target, functools.partial(_register, ipython))
            _declared.extend((kind, name, target) for kind, name in declare(ipython, loader, magics))


def _register(ipython, instance) -> None:
    ipython.register_magics(instance)
    _made.append(instance)


def _kinds(kinds: str) -> tuple[str, ...]:
    return ("line", "cell") if kinds == "line_cell" else (kinds,)


def _settings_from_environment() -> None:
    """Headless runs (`openai-magics run --offline --budget USD`) set these before the kernel starts."""
    import os

    if os.environ.get("OPENAI_MAGICS_OFFLINE"):
        from openai_magics.offline import start_for

        start_for(session())
    if os.environ.get("OPENAI_MAGICS_BUDGET"):
        from decimal import Decimal

        session().budget = Decimal(os.environ["OPENAI_MAGICS_BUDGET"])


def unload_ipython_extension(ipython) -> None:
    from openai_magics.core.cell import on_pre_run_cell
    from openai_magics.magics.kit import keep_question_marks

    if on_pre_run_cell in ipython.events.callbacks["pre_run_cell"]:
        ipython.events.unregister("pre_run_cell", on_pre_run_cell)
    if keep_question_marks in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.remove(keep_question_marks)

    manager = ipython.magics_manager
    # Every magics instance of ours, also those a lazy declaration made, leaves %config: one left behind would
    # answer `%config OpenAIMagics.…` again beside the next load's.
    ipython.configurables[:] = [c for c in ipython.configurables
                                if not type(c).__module__.startswith("openai_magics.")]
    for instance in _made:
        for kind, names in instance.magics.items():
            for name in names:
                manager.magics[kind].pop(name, None)
    for kind, name, target in _declared:
        manager.magics[kind].pop(name, None)
        manager.registry.pop(target.split(":")[1], None)
        if hasattr(manager, "register_lazy"):
            manager.lazy_magics.pop(name, None)
            manager._loaded_lazy.discard(target)  # or, loaded again, the magic would never be made
    _made.clear()
    _declared.clear()
