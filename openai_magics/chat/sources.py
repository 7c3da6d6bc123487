"""What hosted tools leave on an answer: its sources, numbered in the order the text first cites them (a web
page, or a file with the passage the file search returned), where in the text each is cited, and the files the
code interpreter made (downloaded from its container). All plain data, so the cache keeps it."""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from openai_magics.chat.items import _field, annotations

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")
QUOTE_CHARS = 300


class Sources(list):
    """The answer's sources, one dict each: n, kind (web | file), title, url, file_id, quote."""

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(list(self), columns=["n", "kind", "title", "url", "file_id", "quote"]).set_index("n")


def read_sources(output, sources: list[dict], marks: list[list[int]], offset: int) -> None:
    """Add this round's citations to `sources` (a source cited again keeps its number) and `marks` ([position in
    the answer's text, number]); `offset`: the text before this round's."""
    quotes = _passages(output)
    starts, position = {}, offset  # each text part's place in the answer's text
    for item in output:
        for part in (_field(item, "content") or []) if _field(item, "type") == "message" else []:
            if _field(part, "type") == "output_text":
                starts[id(part)] = position
                position += len(_field(part, "text") or "")
    for part, note in annotations(output):
        source = _source(note, quotes)
        if source is None or id(part) not in starts:
            continue
        known = next((s for s in sources if (s["url"], s["file_id"]) == (source["url"], source["file_id"])), None)
        if known is None:
            known = {"n": len(sources) + 1, **source}
            sources.append(known)
        at = _field(note, "end_index") if _field(note, "end_index") is not None else _field(note, "index")
        text_length = len(_field(part, "text") or "")
        at = starts[id(part)] + (min(max(at, 0), text_length) if isinstance(at, int) else text_length)
        if [at, known["n"]] not in marks:
            marks.append([at, known["n"]])


def _source(note, quotes: dict) -> dict | None:
    kind = _field(note, "type")
    if kind == "url_citation" and isinstance(_field(note, "url"), str):
        return {"kind": "web", "title": _field(note, "title") or _field(note, "url"), "url": _field(note, "url"),
                "file_id": None, "quote": None}
    if kind == "file_citation" and isinstance(_field(note, "file_id"), str):
        file_id = _field(note, "file_id")
        return {"kind": "file", "title": _field(note, "filename") or file_id, "url": None, "file_id": file_id,
                "quote": quotes.get(file_id)}
    return None


def _passages(output) -> dict[str, str]:
    """file id → the best passage the file searches returned from it."""
    best: dict[str, tuple[float, str]] = {}
    for item in output:
        if _field(item, "type") != "file_search_call":
            continue
        for result in _field(item, "results") or []:
            file_id, text = _field(result, "file_id"), _field(result, "text")
            score = _field(result, "score") or 0
            if isinstance(file_id, str) and isinstance(text, str) and (file_id not in best or score > best[file_id][0]):
                best[file_id] = (score, " ".join(text.split())[:QUOTE_CHARS])
    return {file_id: text for file_id, (_, text) in best.items()}


def numbered(text: str, marks: list[list[int]], sources: list[dict]) -> str:
    """The text with each citation's number after the passage it cites: [1] linked to a page (its brackets
    escaped, so that Markdown shows them), [2] for a file."""
    urls = {s["n"]: s["url"] for s in sources}
    out, last = [], 0
    for at, n in sorted(marks):
        out.append(text[last:at])
        out.append(f" [\\[{n}\\]]({urls[n]})" if urls.get(n) else f" [{n}]")
        last = at
    out.append(text[last:])
    return "".join(out)


def containers_of(output) -> list[str]:
    """The containers the code interpreter ran in during this response."""
    found = []
    for item in output:
        container = _field(item, "container_id") if _field(item, "type") == "code_interpreter_call" else None
        if isinstance(container, str) and container not in found:
            found.append(container)
    return found


def made_files(output) -> list[tuple[str, str, str]]:
    """(container id, file id, filename) of each file the answer cites from a container, once each."""
    found = []
    for _part, note in annotations(output):
        made = (_field(note, "container_id"), _field(note, "file_id"), _field(note, "filename"))
        if (_field(note, "type") == "container_file_citation" and all(isinstance(v, str) and v for v in made)
                and made not in found):
            found.append(made)
    return found


@dataclass
class ContainerFile:
    """A file in the code interpreter's container, its name and bytes: one a cell uploads (`--file`) or one the
    code made."""

    name: str
    data: bytes = field(repr=False)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()[:16]

    @property
    def is_image(self) -> bool:
        return self.name.lower().endswith(IMAGE_SUFFIXES)

    def save(self, folder=".") -> Path:
        path = Path(folder).expanduser() / Path(self.name).name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.data)
        return path

    def as_dict(self) -> dict:
        return {"name": self.name, "data": base64.b64encode(self.data).decode("ascii")}

    @classmethod
    def from_dict(cls, kept: dict) -> "ContainerFile":
        return cls(kept["name"], base64.b64decode(kept["data"]))


class MadeFiles(list):
    """The files the code interpreter made (images are also shown inline); `save(folder)` writes them all."""

    def save(self, folder=".") -> list[Path]:
        return [f.save(folder) for f in self]

    def __repr__(self) -> str:
        return f"MadeFiles({', '.join(f'{f.name} ({len(f.data):,} bytes)' for f in self)})"
