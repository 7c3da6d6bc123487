"""What a handler receives and may return: the request (JSON or multipart/form-data) and binary answers.

A handler returns a dict (sent as JSON), a `Binary` (file content, audio, images: sent as they are), or an
iterator of events (sent as server-sent events). It raises `RequestError` for an answer the API would refuse.
"""
from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Upload:
    """One file of a multipart request."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Request:
    method: str
    path: str                                       # without the query string
    params: dict = field(default_factory=dict)      # the route's path parameters
    query: dict = field(default_factory=dict)       # name → last value given
    body: dict = field(default_factory=dict)        # the JSON body, or the form's text fields
    files: dict = field(default_factory=dict)       # form field → Upload, or a list of them (`image[]`)
    content_type: str = "application/json"
    raw: bytes = b""

    def required(self, name: str):
        """A required body field (the OpenAPI check catches its absence too, when the server has the document)."""
        from openai_magics.offline.errors import RequestError

        if name not in self.body:
            raise RequestError(f"Missing required parameter: '{name}'.", param=name)
        return self.body[name]

    def upload(self, name: str) -> "Upload":
        """A required file of a multipart body."""
        from openai_magics.offline.errors import RequestError

        found = self.files.get(name)
        if not isinstance(found, Upload):
            raise RequestError(f"Missing required parameter: '{name}'.", param=name)
        return found


@dataclass(frozen=True)
class Binary:
    """An answer sent as raw bytes with its content type."""

    data: bytes
    content_type: str = "application/octet-stream"
    headers: dict = field(default_factory=dict)


_KEY = re.compile(r"^[^\[]+|(?<=\[)[^\]]*(?=\])")


class BadBody(ValueError):
    """A body that cannot be read as its content type says."""


def split_query(target: str) -> tuple[str, dict]:
    path, _, query = target.partition("?")
    return path, {name: values[-1] for name, values in parse_qs(query, keep_blank_values=True).items()}


def media_type(header: str | None) -> str:
    return (header or "application/json").split(";")[0].strip().lower()


def read_body(content_type_header: str | None, raw: bytes) -> tuple[dict, dict]:
    """The body's fields and files: JSON, or multipart/form-data (fields named `x[]` gather in lists)."""
    kind = media_type(content_type_header)
    if not raw:
        return {}, {}
    if kind == "multipart/form-data":
        return _multipart(content_type_header, raw)
    try:
        body = json.loads(raw)
    except ValueError:
        raise BadBody("We could not parse the JSON body of your request.") from None
    return body, {}


def _multipart(content_type_header: str, raw: bytes) -> tuple[dict, dict]:
    """Each part sliced once out of the body (a 200 MB batch file is not copied part by part, as a whole-message
    parser would); its headers read by the email package."""
    from email import policy
    from email.parser import BytesHeaderParser

    headers = BytesHeaderParser(policy=policy.HTTP)
    boundary = headers.parsebytes(b"Content-Type: " + content_type_header.encode("latin-1") + b"\r\n\r\n").get_boundary()
    delimiter = b"--" + (boundary or "").encode("latin-1")
    start = raw.find(delimiter) if boundary else -1
    if start < 0:
        raise BadBody("The multipart/form-data body could not be parsed (no boundary?).")
    fields, files = {}, {}
    while not raw.startswith(b"--", start + len(delimiter)):
        start += len(delimiter)
        end = raw.find(b"\r\n" + delimiter, start)
        head_end = raw.find(b"\r\n\r\n", start, end if end >= 0 else len(raw))
        if end < 0 or head_end < 0:
            raise BadBody("The multipart/form-data body could not be parsed (a part is not closed).")
        part = headers.parsebytes(raw[start:head_end].lstrip(b"\r\n") + b"\r\n\r\n")
        name = part.get_param("name", header="content-disposition")
        if not name:
            raise BadBody("A multipart/form-data part has no name.")
        data = raw[head_end + 4:end]
        if str(part.get("content-transfer-encoding", "")).lower() == "base64":
            data = base64.b64decode(data)
        filename = part.get_filename()
        if filename is not None:
            _put(files, name, Upload(filename, part.get_content_type(), data))
        else:
            _put(fields, name, data.decode(part.get_content_charset() or "utf-8", errors="replace"))
        start = end + 2
    return fields, files


def _put(target: dict, name: str, value) -> None:
    """`a` sets, `a[]` appends to a list, `a[b]` sets inside a nested object (how SDKs flatten forms)."""
    head, *keys = _KEY.findall(name)
    if keys and keys[-1] == "":
        keys, append = keys[:-1], True
    else:
        append = False
    for key in [head] + keys[:-1] if keys else []:
        target = target.setdefault(key, {})
    last = keys[-1] if keys else head
    if append:
        target.setdefault(last, []).append(value)
    else:
        target[last] = value
