"""`%openai offline`: start the bundled offline server and point the session at it.

It joins the session (core) to the server (offline), which only the composition root may do.
"""
from __future__ import annotations

from openai_magics.core.session import session
from openai_magics.magics.openai.router import Report, command


@command("offline", "Start the bundled offline server and use it (no key needed).")
def offline(args, shell) -> Report:
    from openai_magics.offline import start_for

    server = start_for(session())
    return Report("Using the bundled offline server: deterministic answers, no key, nothing charged. "
                  "Nothing it answers comes from OpenAI; costs show what OpenAI would bill.",
                  {"base_url": server.base_url})
