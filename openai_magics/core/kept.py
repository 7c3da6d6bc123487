"""Records that outlive the kernel (a batch, a background response): one JSON file per record in a folder of
the user's cache, written whole or not at all, read back as the dataclass they were saved from."""
from __future__ import annotations

import json
import os
from pathlib import Path


def save_record(path: Path, fields: dict, default=None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(fields, default=default))
    os.replace(temporary, path)  # a kernel killed while saving leaves the previous record whole
    return path


def read_record(path: Path, kind: type):
    """The record saved at `path`, or None when there is none (or it is not one)."""
    if not path.is_file():
        return None
    try:
        return kind(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        return None


def record_ids(folder: Path) -> list[str]:
    """The ids of the records in `folder`, sorted."""
    return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
