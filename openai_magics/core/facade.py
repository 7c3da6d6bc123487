"""Capability packages that can be called: `openai_magics.chat("…")` runs what `%%chat` runs.

A package named like its capability cannot also be a function beside it in `openai_magics` (importing the
package replaces the attribute), so the package itself is made callable.
"""
from __future__ import annotations

import importlib
import sys
import types


def make_callable(package: str, target: str) -> None:
    """Calling the module `package` calls `target` ("module:function"), imported on first call."""
    module_name, function = target.split(":")

    class CallablePackage(types.ModuleType):
        def __call__(self, *args, **kwargs):
            from openai_magics.wire.sdk import wait_for_warm_up

            wait_for_warm_up()
            return getattr(importlib.import_module(module_name), function)(*args, **kwargs)

    sys.modules[package].__class__ = CallablePackage
