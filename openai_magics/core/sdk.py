"""Heavy modules a call needs, imported on its first use (never at `%load_ext`): the openai SDK, the widgets."""
from __future__ import annotations

import gc
import importlib
import sys


def openai_sdk():
    """The `openai` module, imported (the first time) as `heavy_import` does."""
    return heavy_import("openai")


def heavy_import(name: str):
    """`importlib.import_module(name)`, the first time with the cyclic collector paused: such an import makes
    hundreds of thousands of objects and no garbage, yet the collector would walk the kernel's whole heap
    several times while it runs (~20 ms of a fresh kernel's first `%%chat` for the SDK alone, measured on our
    2-core machine with benchmarks/load_time.py's first-cell comparison)."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return importlib.import_module(name)
    finally:
        if was_enabled:
            gc.enable()
