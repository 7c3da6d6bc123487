"""Heavy modules a call needs, imported on its first use (never at `%load_ext`): the openai SDK, jsonschema,
the widgets."""
from __future__ import annotations

import re
import sys
import threading

from openai_magics.core.heavy import heavy_import

_warming: list[threading.Thread] = []


def openai_sdk():
    """The `openai` module, imported (the first time) as `heavy_import` does."""
    return heavy_import("openai")


def shutdown_notice(method) -> str | None:
    """The installed SDK's deprecation notice on an API method (`openai.resources.videos.Videos.create`) when
    it names a shutdown date that has passed: OpenAI no longer serves that API. None while it runs."""
    from datetime import date, datetime

    notice = getattr(method, "__deprecated__", None) or ""
    for when in re.findall(r"[A-Z][a-z]+ \d{1,2}, \d{4}", notice):
        try:
            if datetime.strptime(when, "%B %d, %Y").date() < date.today():
                return notice
        except ValueError:  # a capitalised word before a number, not a date
            continue
    return None


def jsonschema_module():
    """`jsonschema`, imported (the first time) without its checker of `format: iri`: when rfc3987-syntax is
    installed, jsonschema builds that checker's grammars as it is imported (1.6–8 s of a fresh kernel on our
    2-core machine, most of `%openai offline`'s start), for a format nothing here checks (formats are only
    checked when a format checker is asked for)."""
    if "jsonschema" in sys.modules:
        return sys.modules["jsonschema"]
    skipped = "rfc3987_syntax" not in sys.modules
    if skipped:
        sys.modules["rfc3987_syntax"] = None  # importing it fails, so jsonschema leaves that checker out
    try:
        return heavy_import("jsonschema")
    finally:
        if skipped and sys.modules.get("rfc3987_syntax", 0) is None:
            del sys.modules["rfc3987_syntax"]


def warm_up(target, *args) -> None:
    """Run `target(*args)` (imports, loads) on a thread now, behind the prompt. Whatever comes next waits for it
    first (`wait_for_warm_up`): two threads importing one package at once can see each other's half-imported
    modules."""
    thread = threading.Thread(target=target, args=args, daemon=True, name="openai-magics-warm-up")
    _warming.append(thread)
    thread.start()


def wait_for_warm_up() -> None:
    """Block until the warm-ups started are done (at once when none is running)."""
    for thread in list(_warming):
        if thread is threading.current_thread():
            continue
        thread.join()
        if thread in _warming:
            _warming.remove(thread)

