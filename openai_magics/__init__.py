"""openai-magics: the whole OpenAI platform one notebook cell away.

`%load_ext openai_magics` registers the magics; `openai_magics.session()` is the kernel's shared session.
Loading is light on purpose: openai, widgets, numpy, pandas and the price tables load on first use.
"""
from .session import session

__version__ = "0.1.0"
__all__ = ["session", "load_ipython_extension", "unload_ipython_extension"]

_registered: list = []


def load_ipython_extension(ipython) -> None:
    from .magics import MAGICS
    from .magics.base import keep_question_marks
    from .session import on_pre_run_cell

    if on_pre_run_cell not in ipython.events.callbacks["pre_run_cell"]:
        ipython.events.register("pre_run_cell", on_pre_run_cell)
    if keep_question_marks not in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.insert(0, keep_question_marks)

    for magics_class in MAGICS:
        instance = magics_class(shell=ipython)
        ipython.register_magics(instance)
        if magics_class.class_traits(config=True):
            ipython.configurables.append(instance)  # so that %config OpenAIMagics.… reaches it
            instance.update_config(ipython.config)
        _registered.append(instance)


def unload_ipython_extension(ipython) -> None:
    from .magics.base import keep_question_marks
    from .session import on_pre_run_cell

    if on_pre_run_cell in ipython.events.callbacks["pre_run_cell"]:
        ipython.events.unregister("pre_run_cell", on_pre_run_cell)
    if keep_question_marks in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.remove(keep_question_marks)

    manager = ipython.magics_manager
    for instance in _registered:
        if instance in ipython.configurables:
            ipython.configurables.remove(instance)
        for kind, names in instance.magics.items():
            for name in names:
                manager.magics[kind].pop(name, None)
        manager.registry.pop(type(instance).__name__, None)
    _registered.clear()
