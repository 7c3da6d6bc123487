"""Imports that make many long-lived objects (the openai SDK, genai-prices' price tables, jsonschema, the
widgets), done without the cyclic collector walking them."""
from __future__ import annotations

import gc
import importlib
import sys
from contextlib import contextmanager


@contextmanager
def collector_paused():
    """The cyclic collector off while the block runs; what the block made then goes straight to the oldest
    generation (`gc.freeze()` then `gc.unfreeze()`), as the collector would have moved it after walking it
    twice. An import makes hundreds of thousands of objects and no garbage: with the collector on, it walks
    the heap several times while the import runs; merely paused, the next few collections walk all of it
    after: a fresh kernel's first `%%chat` spent ~60 ms of CPU in the collector, ~7 ms now (our 2-core
    machine). Nothing is kept from the collector: the next full collection walks the oldest generation."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def heavy_import(name: str):
    """`importlib.import_module(name)`, the first time with the collector paused (`collector_paused`)."""
    module = sys.modules.get(name)
    if module is not None and not getattr(getattr(module, "__spec__", None), "_initializing", False):
        return module  # a module another thread is still importing is waited for by import_module, below
    with collector_paused():
        return importlib.import_module(name)
