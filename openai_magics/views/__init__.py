"""Views: how a call shows while it runs (live widget, terminal text) and the widgets behind them."""
from __future__ import annotations

from pathlib import Path


def widget_asset(name: str) -> Path:
    """A front-end module from `widgets/`: beside the package in a checkout, inside it in a wheel."""
    package = Path(__file__).resolve().parent.parent
    for folder in (package / "widgets", package.parent / "widgets"):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"widget asset {name} not found")
