"""Views: how a call shows while it runs (live widget, terminal text) and the widgets behind them."""
from __future__ import annotations

import os
from pathlib import Path

WIDGETS_DIR_ENV = "OPENAI_MAGICS_WIDGETS_DIR"


def widget_asset(name: str) -> Path:
    """A front-end module from `widgets/`: beside the package in a checkout, inside it in a wheel.

    `$OPENAI_MAGICS_WIDGETS_DIR` replaces both (the browser tier serves a deliberately broken copy from it)."""
    package = Path(__file__).resolve().parent.parent
    override = os.environ.get(WIDGETS_DIR_ENV)
    for folder in (Path(override),) if override else (package / "widgets", package.parent / "widgets"):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"widget asset {name} not found")
