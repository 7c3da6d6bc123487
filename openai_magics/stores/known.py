"""The stores made here, on disk per endpoint, so `--files NAME` finds its store after a kernel restart.

One JSON file per endpoint under the user's cache folder (`$XDG_CACHE_HOME/openai-magics/stores`, or
`$OPENAI_MAGICS_STORE_DIR`): name → the store's id, its files' names and ids. Nothing secret: no key, no text.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from openai_magics.core.config import user_folder

DIR_ENV = "OPENAI_MAGICS_STORE_DIR"


def folder() -> Path:
    return user_folder("stores", DIR_ENV)


def _file(base_url: str) -> Path:
    return folder() / f"{hashlib.sha256(base_url.encode()).hexdigest()[:16]}.json"


def read(base_url: str) -> dict:
    """name → {"id", "files": {filename: file_id}} of the stores made on this endpoint."""
    path = _file(base_url)
    try:
        kept = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    stores = kept.get("stores") if isinstance(kept, dict) else None
    return {name: entry for name, entry in (stores or {}).items()
            if isinstance(entry, dict) and isinstance(entry.get("id"), str)}


def write(base_url: str, stores: dict) -> None:
    path = _file(base_url)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"stores": stores}, indent=1))  # the endpoint is in the name, hashed: no URL kept
