"""Work one capability hands to another without importing it: the composition root names who does what.

`%%chat --over … --batch` hands its request bodies to the batch capability this way, so chat and batch
stay apart (see docs/architecture.md). Targets are "module:function", imported on first use.
"""
from __future__ import annotations

import importlib

_targets: dict[str, str] = {}


def provide(name: str, target: str) -> None:
    _targets[name] = target


def handler(name: str):
    module, function = _targets[name].split(":")
    return getattr(importlib.import_module(module), function)
