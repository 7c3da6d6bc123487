"""`%openai background list|status ID|collect ID|cancel ID` (the responses `%%chat --background` started) and
`%openai jobs` (everything running on the server for this notebook: background responses, batches,
fine-tuning jobs)."""
from __future__ import annotations

import html

from openai_magics.chat import background
from openai_magics.core.session import session
from openai_magics.magics.commands import Report, command
from openai_magics.magics.kit import is_terminal
from openai_magics.core.errors import CallFailed, UsageError

ACTIONS = ("list", "status", "collect", "cancel")
JOBS_SHOWN = 10  # of each kind, the most recent


def _arguments(parser) -> None:
    parser.add_argument("action", choices=ACTIONS, help="list | status ID | collect ID | cancel ID")
    parser.add_argument("id", nargs="?", help="The response id (resp_…).")


@command("background", "Background responses: list, status ID, collect ID (the answer, recorded once), cancel ID.",
         _arguments)
def background_command(args, shell):
    s = session()
    if args.action == "list":
        started = background.known()
        if not started:
            return Report("No background responses yet: `%%chat --background` starts one.", {"background": []})
        lines = [f"{b.id} · {b.model} · {'collected' if b.recorded else 'not collected yet'} · {b.preview}"
                 for b in started]
        return Report("\n".join(lines), {"background": [b.id for b in started]})
    if not args.id:
        raise UsageError(f"%openai background {args.action} needs a response id (`%openai background list` shows them).")
    if args.action == "cancel":
        return background.cancel(s, args.id)
    if args.action == "status":
        return background.status(s, args.id)
    if shell is None or is_terminal(shell):
        return background.collect(s, args.id)
    from openai_magics.views.live import LiveHtml

    live = LiveHtml()  # while collect waits: the status, in place; the answer that follows is what stays
    try:
        return background.collect(s, args.id, on_status=lambda status: live.show(
            f"<small>background response: {html.escape(status)}</small>"))
    finally:
        live.retire()


@command("jobs", "Everything running on the server: background responses, batches, fine-tuning jobs.")
def jobs(args, shell) -> Report:
    s = session()
    lines, data = [], {}
    started = background.known()[-JOBS_SHOWN:]
    data["background"] = [b.id for b in started]
    for b in started:
        try:
            status = background.status(s, b.id).status if not b.recorded else "collected"
        except CallFailed as exc:
            status = f"unknown ({str(exc).splitlines()[0][:80]})"
        lines.append(f"background {b.id} · {b.model} · {status}")
    lines += _batches(s, data)
    lines += _fine_tunes(s, data)
    return Report("\n".join(lines) or "No jobs: nothing runs in the background, in a batch or as a fine-tune.", data)


def _batches(s, data: dict) -> list[str]:
    from openai_magics.batch.engine import listing

    try:
        found, _more, _malformed = listing(s, JOBS_SHOWN)
    except CallFailed as exc:
        return [f"batches: could not be listed ({str(exc).splitlines()[0][:80]})"]
    data["batches"] = [b.id for b in found]
    return [f"batch {b}" for b in found]


def _fine_tunes(s, data: dict) -> list[str]:
    from itertools import islice

    try:
        with s.api_errors():
            found = list(islice(s.client.fine_tuning.jobs.list(limit=JOBS_SHOWN), JOBS_SHOWN))
    except CallFailed as exc:
        return [f"fine-tuning jobs: could not be listed ({str(exc).splitlines()[0][:80]})"]
    shown = [j for j in found if isinstance(getattr(j, "id", None), str) and isinstance(getattr(j, "status", None), str)]
    data["fine_tunes"] = [j.id for j in shown]
    return [f"fine-tune {j.id} · {getattr(j, 'model', '') or ''} · {j.status}" for j in shown]
