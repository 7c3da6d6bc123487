"""The openai SDK, imported on a kernel's first call (never at `%load_ext`)."""
from __future__ import annotations

import gc
import sys


def openai_sdk():
    """The `openai` module. The first import runs with the cyclic collector paused: it makes hundreds of
    thousands of objects and no garbage, yet the collector would walk the kernel's whole heap several times
    while it runs (some 20 ms of a fresh kernel's first `%%chat` on our 2-core machine)."""
    module = sys.modules.get("openai")
    if module is not None:
        return module
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        import openai
    finally:
        if was_enabled:
            gc.enable()
    return openai
