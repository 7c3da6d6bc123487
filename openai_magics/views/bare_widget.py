"""An anywidget model opened over a bare comm: anywidget's front end, without ipywidgets in the kernel.

A model that is only ever a message channel (never displayed, no synced traits) needs nothing of ipywidgets,
whose import (a hundred widget classes) would cost a kernel's first answer ~30 ms. anywidget opens its own
descriptor-based models the same way (`anywidget._descriptor.open_comm`), but that module cannot be imported
without ipywidgets.

Two limits, where a caller should open an `anywidget.AnyWidget` instead (`bare_will_do` says when): a page
reloaded while ipywidgets is loaded restores only the widgets ipywidgets knows of, and Colab shows third-party
widgets only once its custom widget manager is switched on, which `AnyWidget` does.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cache

PROTOCOL_VERSION = "2.1.0"  # the Jupyter widget message protocol anywidget's front end speaks


def bare_will_do() -> bool:
    """Whether a bare model is seen wherever an `AnyWidget` would be: not once ipywidgets is loaded (its import
    is paid then anyway), nor in Colab."""
    return "ipywidgets" not in sys.modules and "google.colab" not in sys.modules


@cache
def _anywidget_range() -> str:
    """The version range a model asks of the front end's anywidget module, as anywidget itself writes it."""
    from importlib.metadata import version

    major, minor, patch = version("anywidget").split(".", 2)
    return f"{major}.{minor}.{patch}" if "a" in patch or "b" in patch else f"~{major}.{minor}.*"


class BareWidget:
    """An anywidget model with the given module, style and extra state; `send` and `on_msg` as an anywidget's.

    It answers the page's `request_state` (a page opened on a running kernel restores it from that), and
    `set_state` tells the pages of a change. Nothing here is set from the page: its updates are ignored."""

    def __init__(self, anywidget_id: str, esm: str, css: str, **state):
        import comm

        range_ = _anywidget_range()
        self._state = {"_model_module": "anywidget", "_model_name": "AnyModel", "_model_module_version": range_,
                       "_view_module": "anywidget", "_view_name": "AnyView", "_view_module_version": range_,
                       "_view_count": None, "_anywidget_id": anywidget_id, "_esm": esm, "_css": css, **state}
        self._handlers: list[Callable] = []
        self.comm = comm.create_comm(target_name="jupyter.widget", metadata={"version": PROTOCOL_VERSION},
                                     data={"state": self._state, "buffer_paths": []})
        self.comm.on_msg(self._receive)
        self.comm.on_close(self._closed)

    def set_state(self, **state) -> None:
        self._state.update(state)
        self.comm.send({"method": "update", "state": state, "buffer_paths": []})

    def send(self, content) -> None:
        self.comm.send({"method": "custom", "content": content})

    def on_msg(self, handler: Callable) -> None:
        """`handler(widget, content, buffers)` for each custom message from the page, as ipywidgets calls it."""
        self._handlers.append(handler)

    def _receive(self, msg: dict) -> None:
        data = msg.get("content", {}).get("data", {})
        if data.get("method") == "request_state":
            self.comm.send({"method": "update", "state": self._state, "buffer_paths": []})
        elif data.get("method") == "custom":
            for handler in self._handlers:
                handler(self, data.get("content"), msg.get("buffers", []))

    def _closed(self, _msg) -> None:
        self.comm = None
