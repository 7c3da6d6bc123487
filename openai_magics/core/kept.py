"""Records that outlive the kernel (a batch, a background response): one JSON file per record in a folder of
the user's cache, written whole or not at all, read back as the dataclass they were saved from."""
from __future__ import annotations

import json
import os
from pathlib import Path

from openai_magics.core.config import user_folder


class RecordFolder:
    """The records of one kind, one file each named by its id, in the user's cache folder (`NAME` there) or in
    `$override_env`."""

    def __init__(self, name: str, override_env: str):
        self.name, self.override_env = name, override_env

    @property
    def path(self) -> Path:
        return user_folder(self.name, self.override_env)

    def save(self, record_id: str, fields: dict, default=None) -> Path:
        return save_record(self.path / f"{record_id}.json", fields, default)

    def load(self, record_id: str, kind: type):
        return read_record(self.path / f"{Path(record_id).name}.json", kind)

    def ids(self) -> list[str]:
        return record_ids(self.path)


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
