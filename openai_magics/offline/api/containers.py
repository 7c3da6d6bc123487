"""Code interpreter containers, offline: the `code_interpreter` tool's stand-in runs one fixed, safe analysis
of the CSV files it was given (never code from the prompt): a summary table of the numeric columns (count,
mean, min, max) and a bar chart of their means, drawn with PIL, both saved as files of the container and
cited in the answer, which says it is the stand-in. `/containers/{id}/files/{file_id}/content` downloads them."""
from __future__ import annotations

import csv
import io
import itertools
import time
from dataclasses import dataclass, field
from typing import ClassVar

from openai_magics.offline.api.files import Files
from openai_magics.offline.errors import not_found
from openai_magics.offline.api.listing import ById, listed
from openai_magics.offline.router import Route
from openai_magics.offline.wire import Binary

_ids = itertools.count(1)
CODE = """# The offline server's stand-in: the same fixed analysis for every question
import pandas as pd, matplotlib.pyplot as plt
for path in csv_files:
    data = pd.read_csv(path)
    summary = data.describe().T[["count", "mean", "min", "max"]]
    summary.to_csv("/mnt/data/summary.csv")
    summary["mean"].plot.bar(title="Mean of each numeric column").figure.savefig("/mnt/data/chart.png")
print(summary)"""


@dataclass
class ContainerFileEntry:
    id: str
    path: str
    data: bytes
    source: str
    created_at: int

    def as_object(self, container_id: str) -> dict:
        return {"id": self.id, "object": "container.file", "container_id": container_id, "created_at": self.created_at,
                "bytes": len(self.data), "path": self.path, "source": self.source}


@dataclass
class Container:
    id: str
    created_at: int
    files: dict = field(default_factory=dict)  # id → ContainerFileEntry

    def add(self, name: str, data: bytes, source: str) -> ContainerFileEntry:
        made = ContainerFileEntry(f"cfile_offline{next(_ids)}", f"/mnt/data/{name}", data, source, int(time.time()))
        self.files[made.id] = made
        return made

    def as_object(self) -> dict:
        return {"id": self.id, "object": "container", "name": "offline auto container", "created_at": self.created_at,
                "status": "running", "expires_after": {"anchor": "last_active_at", "minutes": 20}}


class Containers(ById):
    kind: ClassVar[str] = "Container"
    param: ClassVar[str] = "container_id"


def code_interpreter(state, tool: dict, question: str, include: list[str]) -> tuple[list[dict], str, list[dict]]:
    """A new container with the tool's files, the fixed analysis run in it; (items, text, annotations)."""
    settings = tool.get("container") if isinstance(tool.get("container"), dict) else {}
    files = state.part(Files)
    given = [files.get(file_id) for file_id in settings.get("file_ids") or []]
    containers = state.part(Containers)
    with containers.lock:
        container = Container(f"cntr_offline{next(_ids)}", int(time.time()))
        containers.items[container.id] = container
    for stored in given:
        container.add(stored.filename, stored.data, "user")
    tables = [(f.filename, _summary(f.data)) for f in given if f.filename.lower().endswith(".csv")]
    tables = [(name, rows) for name, rows in tables if rows]
    logs = "\n\n".join(f"{name}\n{_table_text(rows)}" for name, rows in tables) or "no CSV file with numbers given"
    item = {"type": "code_interpreter_call", "id": f"ci_offline{next(_ids)}", "status": "completed",
            "container_id": container.id, "code": CODE,
            "outputs": [{"type": "logs", "logs": logs}] if "code_interpreter_call.outputs" in include else None}
    text = ("The offline code interpreter stand-in ran its one fixed analysis (it writes no code for your "
            "question): a summary of each numeric column and a chart of their means.")
    if not tables:
        return [item], text + "\n\nNo CSV file with numeric columns was given, so there is nothing to chart.", []
    name, rows = tables[0]
    chart = container.add("chart.png", _chart(rows), "assistant")
    summary = container.add("summary.csv", _summary_csv(rows), "assistant")
    text += f"\n\n{_table_markdown(rows)}\n\nThe chart: "
    notes = []
    for made, label in ((chart, "chart.png"), (summary, "summary.csv")):
        start = len(text)
        text += label
        notes.append({"type": "container_file_citation", "container_id": container.id, "file_id": made.id,
                      "start_index": start, "end_index": len(text), "filename": label})
        text += "; the table: " if label == "chart.png" else "."
    return [item], text, notes


def _summary(data: bytes) -> list[tuple[str, int, float, float, float]]:
    """(column, count, mean, min, max) of every numeric column."""
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8", "replace"))))
    summary = []
    for column in rows[0].keys() if rows else []:
        try:
            values = [float(r[column]) for r in rows if r.get(column) not in (None, "")]
        except ValueError:
            continue
        if values:
            summary.append((column, len(values), sum(values) / len(values), min(values), max(values)))
    return summary


def _table_text(rows) -> str:
    return "\n".join(f"{c:<12} count {n:>5}  mean {m:>10.3f}  min {lo:>10.3f}  max {hi:>10.3f}"
                     for c, n, m, lo, hi in rows)


def _table_markdown(rows) -> str:
    lines = ["| column | count | mean | min | max |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {c} | {n} | {m:.3f} | {lo:g} | {hi:g} |" for c, n, m, lo, hi in rows]
    return "\n".join(lines)


def _summary_csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["column", "count", "mean", "min", "max"])
    writer.writerows([c, n, round(m, 6), lo, hi] for c, n, m, lo, hi in rows)
    return out.getvalue().encode()


def _chart(rows) -> bytes:
    """A bar chart of the columns' means, as a PNG."""
    from PIL import Image, ImageDraw

    width, height, margin = 360, 220, 24
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((margin, 4), "Mean of each numeric column (offline stand-in)", fill="black")
    top = max(abs(m) for _, _, m, _, _ in rows) or 1.0
    slot = (width - 2 * margin) / len(rows)
    for i, (column, _, mean, _, _) in enumerate(rows):
        bar = (height - 2 * margin - 12) * abs(mean) / top
        left = margin + i * slot + slot * 0.15
        draw.rectangle([left, height - margin - bar, left + slot * 0.7, height - margin], fill=(70, 110, 200))
        draw.text((left, height - margin + 4), column[:10], fill="black")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def retrieve(state, request) -> dict:
    containers = state.part(Containers)
    with containers.lock:
        return containers.get(request.params["container_id"]).as_object()


def list_files(state, request) -> dict:
    containers = state.part(Containers)
    with containers.lock:
        container = containers.get(request.params["container_id"])
        data = [f.as_object(container.id) for f in container.files.values()]
    return listed(data)


def file_content(state, request) -> Binary:
    containers = state.part(Containers)
    with containers.lock:
        container = containers.get(request.params["container_id"])
        made = container.files.get(request.params["file_id"])
    if made is None:
        raise not_found("Container file", request.params["file_id"], param="file_id")
    kind = "image/png" if made.path.endswith(".png") else "text/csv" if made.path.endswith(".csv") else \
        "application/octet-stream"
    return Binary(made.data, kind)


ROUTES = [
    Route("GET", "/containers/{container_id}", retrieve),
    Route("GET", "/containers/{container_id}/files", list_files),
    Route("GET", "/containers/{container_id}/files/{file_id}/content", file_content),
]
