"""What goes up to the Files API: files, globs, folders, a DataFrame (as CSV) or texts, read and checked here
before anything is sent (a missing path, an empty folder or a file over the API's limit is one line and
nothing is uploaded), then uploaded one by one with the progress shown."""
from __future__ import annotations

import glob
from pathlib import Path

from openai_magics.facts.data import load
from openai_magics.core.errors import UsageError

MB = 1024 * 1024


def read_upload(value, name: str, option: str) -> tuple[str, bytes]:
    """One file for the code interpreter: a DataFrame or Series as `NAME.csv`, bytes, or a path."""
    if hasattr(value, "to_csv"):
        return f"{name}.csv", value.to_csv(index=False).encode()
    if isinstance(value, (bytes, bytearray)):
        return name, bytes(value)
    if isinstance(value, (str, Path)):
        path = Path(value).expanduser()
        if not path.is_file():
            raise UsageError(f"{option} {value}: no such file{' (it is a folder)' if path.is_dir() else ''}; "
                             "nothing was uploaded.")
        check_size(path.name, path.stat().st_size)
        return path.name, path.read_bytes()
    raise UsageError(f"{option} takes a DataFrame, a Series, bytes or a path, not a {type(value).__name__}.")


def check_size(name: str, size: int) -> None:
    limit = load("hosted_tools.json")["upload_limit_bytes"]
    if size > limit:
        raise UsageError(f"{name} is {size / MB:,.0f} MB: the Files API takes files up to {limit // MB} MB. "
                         "Nothing was uploaded.")


def gather(sources, shell=None, option: str = "store") -> list[tuple[str, object]]:
    """(name, Path or text) for every file the sources name: paths, globs and folders (their files, recursively),
    or a notebook variable holding a list, Series or DataFrame column of texts. Checked, nothing read yet."""
    found: list[tuple[str, object]] = []
    for source in sources:
        if not isinstance(source, (str, Path)):
            found += _texts(source, "texts")
            continue
        text = str(source)
        head = text.split(".")[0].split("[")[0]
        if shell is not None and head.isidentifier() and head in shell.user_ns and not Path(text).exists():
            from openai_magics.magics.kit import variable

            found += _texts(variable(shell, text, option), head)  # texts, a Series, df.text, df["text"]
            continue
        found += _paths(text, option)
    for name, item in found:
        if isinstance(item, Path):
            check_size(name, item.stat().st_size)
    if not found:
        raise UsageError(f"{option}: no files given; nothing was uploaded.")
    return found


def _paths(text: str, option: str) -> list[tuple[str, Path]]:
    path = Path(text).expanduser()
    if any(c in text for c in "*?["):
        matched = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
        if not matched:
            raise UsageError(f"{option}: {text} matches no file; nothing was uploaded.")
        return [(p.name, p) for p in matched]
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        if not files:
            raise UsageError(f"{option}: the folder {text} is empty; nothing was uploaded.")
        return [(p.name, p) for p in files]
    if not path.is_file():
        raise UsageError(f"{option}: {text}: no such file or folder; nothing was uploaded.")
    return [(path.name, path)]


def _texts(value, name: str) -> list[tuple[str, str]]:
    """A list, Series or one-column DataFrame of texts: one small text file each."""
    if hasattr(value, "columns"):
        if len(value.columns) != 1:
            raise UsageError(f"{name} is a DataFrame of {len(value.columns)} columns: name one, e.g. {name}.text.")
        value = value[value.columns[0]]
    texts = list(value.tolist() if hasattr(value, "tolist") else value) if not isinstance(value, str) else [value]
    if not all(isinstance(t, str) and t.strip() for t in texts):
        raise UsageError(f"{name}: every item must be a non-empty text.")
    return [(f"{name}-{i + 1}.txt", t) for i, t in enumerate(texts)]


def upload_all(session, files: list[tuple[str, object]], purpose: str, progress=None) -> list[str]:
    """Upload each (name, bytes | Path | text); their file ids, in order."""
    from openai_magics.views.progress import NoRowProgress, Tally

    progress = progress or NoRowProgress()
    tally = Tally(len(files), priced=False)
    progress.start(tally)
    ids = []
    try:
        for name, item in files:
            data = item.read_bytes() if isinstance(item, Path) else item.encode() if isinstance(item, str) else item
            with session.api_errors():
                uploaded = session.client.files.create(file=(name, data), purpose=purpose)
            file_id = getattr(uploaded, "id", None)
            if not isinstance(file_id, str) or not file_id:
                from openai_magics.core.errors import CallFailed

                raise CallFailed(f"The server's answer to uploading {name} holds no file id; nothing more was sent.")
            ids.append(file_id)
            tally.add(True)
            progress.update()
    finally:
        progress.finish()
    return ids
