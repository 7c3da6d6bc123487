"""`%openai pin on|off`: later calls to an alias send the snapshot it first answered as in this notebook."""
from __future__ import annotations

from openai_magics.core.session import session
from openai_magics.magics.commands import Report, command


def _pin_arguments(parser) -> None:
    parser.add_argument("action", nargs="?", choices=("on", "off"), help="Without it: the pins and whether they apply.")


@command("pin", "Pin model versions: on|off (aliases send the snapshot first seen here), or the pins.", _pin_arguments)
def pin(args, shell) -> Report:
    from openai_magics.cache.pins import Pins, seen
    from openai_magics.cache.policy import current

    s = session()
    pins = s.part(Pins)
    if args.action is not None:
        pins.on = args.action == "on"
    known = seen(s)
    cache = current(s)
    kept = f"kept in {cache.shown}" if cache is not None else "kept for this session (`%openai cache on` keeps them)"
    if pins.on:
        head = "pin: on: a call to an alias sends the snapshot it first answered as in this notebook"
    else:
        head = "pin: off: aliases go as written (`%openai pin on` sends the snapshots below)"
    lines = [head] + [f"  {alias} → {snapshot}" for alias, snapshot in sorted(known.items())]
    lines.append(f"snapshots {kept}" if known else "no alias has answered yet; the first answer of each is pinned")
    return Report("\n".join(lines), {"on": pins.on, "pins": known})
