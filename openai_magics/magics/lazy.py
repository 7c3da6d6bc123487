"""For IPython before 9.19, which has no `MagicsManager.register_lazy`: magics declared when the extension loads
and imported on first use, so a kernel pays only for the magics it runs (`%%chat` does not import the image,
audio or eval magics and build their option parsers).

A declared magic is a `DeclaredMagic` in IPython's magic table: completion and `%lsmagic` list it at once.
Calling it, or asking for its help (`%%chat?`), imports its class, registers it in the placeholders' stead,
and goes on with the real magic.
"""
from __future__ import annotations

import importlib


class MagicsLoader:
    """One Magics class, as "module:Class": imported, made and registered once, by `setup(instance)`."""

    def __init__(self, shell, target: str, setup):
        self.shell, self.target, self._setup = shell, target, setup
        self.instance = None

    def load(self):
        if self.instance is None:
            module, name = self.target.split(":")
            self.instance = getattr(importlib.import_module(module), name)(shell=self.shell)
            self._setup(self.instance)
        return self.instance

    def magic(self, kind: str, name: str):
        return self.load().magics[kind][name]


class DeclaredMagic:
    """Stands in for one magic of a class not imported yet."""

    # Every magic here expands {variables} itself (or not, with --no-interpolate), as the real ones declare.
    _ipython_magic_no_var_expand = True

    def __init__(self, loader: MagicsLoader, kind: str, name: str):
        self.loader, self.kind, self.name = loader, kind, name

    def __call__(self, *args, **kwargs):
        return self.loader.magic(self.kind, self.name)(*args, **kwargs)

    def getdoc(self) -> str | None:
        """What IPython's `%%chat?` shows: the real magic's help."""
        return self.loader.magic(self.kind, self.name).__doc__

    @property
    def __doc__(self) -> str | None:  # `%lsmagic` reads docstrings directly
        return self.getdoc()

    @property
    def __wrapped__(self):  # so that `%%chat?` names the real magic's file and signature
        return self.loader.magic(self.kind, self.name)


def declare(shell, loader: MagicsLoader, magics: dict[str, str]) -> list[tuple[str, str]]:
    """Put a placeholder for each of `magics` ({name: "line" | "cell" | "line_cell"}) in the shell's magic
    table; returns the (kind, name) pairs declared."""
    table = shell.magics_manager.magics
    declared = []
    for name, kinds in magics.items():
        for kind in ("line", "cell") if kinds == "line_cell" else (kinds,):
            table[kind][name] = DeclaredMagic(loader, kind, name)
            declared.append((kind, name))
    return declared
