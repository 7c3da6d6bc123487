"""genai-prices' price data, read as quickly as a fresh kernel's first answer can have it.

genai-prices' bundled tables are one 1.6 MB module building every provider's prices (~17 ms of CPU to import, on
our 2-core machine, as much as the rest of a first `%%chat`'s own work), and only OpenAI's are read here. So the
OpenAI provider genai-prices builds from them is kept, pickled as genai-prices' own objects, in the user's cache
folder, named after the genai-prices and the tables it came from: a later kernel reads it back in ~2 ms, and any
other genai-prices (upgraded, edited) makes it again. A snapshot genai-prices' `UpdatePrices` (or the user) set
is used as it is. The prices and the arithmetic stay genai-prices' own; nothing of them is copied here.
"""
from __future__ import annotations

import importlib.util
import os
import pickle
import sys
from functools import cache
from pathlib import Path

from openai_magics.core.config import cache_home
from openai_magics.core.heavy import collector_paused, heavy_import

PROVIDER = "openai"


def price_data():
    """genai-prices' price data: the snapshot its `UpdatePrices` set, else its bundled tables' OpenAI provider."""
    data_snapshot = heavy_import("genai_prices.data_snapshot")
    custom = getattr(data_snapshot, "_custom_snapshot", None)
    return custom if custom is not None else _bundled_openai()


@cache
def _bundled_openai():
    """A genai-prices snapshot holding its bundled OpenAI provider, from the pickle when there is a good one.
    Made once, with the collector paused: the tables are long-lived objects."""
    from genai_prices import data_snapshot
    from genai_prices.types import Provider

    with collector_paused():
        path = _pickle_path()
        provider = _read(path, Provider)
        if provider is None:
            provider = next(p for p in data_snapshot.get_snapshot().providers if p.id == PROVIDER)
            _write(path, provider)
        return data_snapshot.DataSnapshot(providers=[provider], from_auto_update=False)


def _pickle_path() -> Path | None:
    """Where the pickle of these tables is kept: named after genai-prices' version, its tables' file (size and
    time changed) and this Python; None when the tables' file cannot be found."""
    import hashlib  # here, not at `%load_ext`: it loads OpenSSL

    import genai_prices

    spec = importlib.util.find_spec("genai_prices.data")
    if spec is None or not spec.origin or not os.path.isfile(spec.origin):
        return None
    stat = os.stat(spec.origin)
    made_from = f"{genai_prices.__version__} {spec.origin} {stat.st_size} {stat.st_mtime_ns} {sys.version_info[:2]}"
    digest = hashlib.sha256(made_from.encode()).hexdigest()[:16]
    return cache_home() / "prices" / f"genai-prices-{PROVIDER}-{digest}.pickle"


def _read(path: Path | None, provider_type):
    """The provider pickled at `path`, or None (no file, or one that is not a whole OpenAI provider)."""
    if path is None:
        return None
    try:
        provider = pickle.loads(path.read_bytes())
    except Exception:  # missing, cut short, or of a genai-prices that no longer reads it: made again
        return None
    return provider if isinstance(provider, provider_type) and provider.id == PROVIDER else None


def _write(path: Path | None, provider) -> None:
    """Keep the provider for the next kernel; a folder that cannot be written only means it is built again."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        partial.write_bytes(pickle.dumps(provider, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(partial, path)  # whole or not at all, whichever kernel writes last
        for older in path.parent.glob(f"genai-prices-{PROVIDER}-*.pickle"):  # of other genai-prices
            if older != path:
                older.unlink(missing_ok=True)
    except Exception:
        pass
