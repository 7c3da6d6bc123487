"""`%openai offline`: start the bundled offline server and point the session at it.

It joins the session (core) to the server (offline), which only the composition root may do.
"""
from __future__ import annotations

from openai_magics.core.session import session
from openai_magics.magics.openai.router import Report, command


def _offline_arguments(parser) -> None:
    parser.add_argument("--any-model", action="store_true",
                        help="Answer any model name, as a compatible server with models of its own would (to "
                             "rehearse one). Otherwise only OpenAI's models: another name is OpenAI's 404.")


@command("offline", "Start the bundled offline server and use it (no key needed).", _offline_arguments)
def offline(args, shell) -> Report:
    from openai_magics.offline import start_for

    server = start_for(session())
    server.any_model = args.any_model
    any_name = " It answers any model name (--any-model), as a compatible server would." if args.any_model else ""
    return Report("Using the bundled offline server: deterministic answers, no key, nothing charged. "
                  f"Nothing it answers comes from OpenAI; costs show what OpenAI would bill.{any_name}",
                  {"base_url": server.base_url, "any_model": args.any_model})
