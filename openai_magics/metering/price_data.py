"""genai-prices' price data, read without the cyclic collector walking it."""
from __future__ import annotations

from openai_magics.facts.heavy import collector_paused


def price_data():
    """genai-prices' price data: its bundled tables (imported on first use with the collector paused), or the
    snapshot its `UpdatePrices` set."""
    with collector_paused():
        from genai_prices import data_snapshot

        return data_snapshot.get_snapshot()
