"""The server's helper process, for the server `%openai offline` starts in a kernel: request validation and the
byte-pair encoding of short texts.

Loading them takes CPU under the GIL in the same seconds as the kernel imports the SDK for its first answer:
the validator (jsonschema, the 3.4 MB OpenAPI document) ~140 ms, the encoding's ranks and the Python encoder
~50–100 ms. In a process of its own they load on the other core. The request log, faults and every other state
stay in the kernel's server; only a body or a text crosses, as one line of JSON each way: the one line
`RequestValidator.violation` gives, or the text's tokens. The process ends when the kernel does (its input
closes). Should it fail, the server validates and encodes in its own process again.

    python -P openai_magics/offline/helper_process.py OPENAPI_DOCUMENT
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from types import ModuleType, SimpleNamespace


class HelperProcess:
    """`violation(...)` as `RequestValidator` has it, and `token_bytes(text, model)`, answered by a child process
    started at once."""

    def __init__(self, document: str | Path):
        self.document = str(document)
        self._lock = threading.Lock()
        self._local = None  # the in-process validator, once the child has failed
        self._gone = False
        # This file's folder is not put on the child's path (its modules would shadow others by their names):
        # -P from Python 3.11; before, -I (isolated), which also leaves out PYTHONPATH and the user's site folder
        # (where jsonschema is seldom alone; without it the child fails and the server validates itself).
        isolated = "-P" if sys.version_info >= (3, 11) else "-I"
        self._child = subprocess.Popen([sys.executable, isolated, __file__, self.document], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def violation(self, path: str, body: object, method: str = "post", media: str = "application/json",
                  files: dict | None = None) -> str | None:
        names = {field: [u.filename for u in upload] if isinstance(upload, list) else upload.filename
                 for field, upload in (files or {}).items()}
        with self._lock:
            if self._local is None:
                answer = self._ask({"validate": [path, body, method, media, names]})
                if answer is not None:
                    return answer["violation"]
                self._local = self._load_here()
        return self._local.violation(path, body, method, media, files)

    def token_bytes(self, text: str, model: str) -> list[bytes] | None:
        """The text's tokens as the Python encoder gives them; None when the child has none for it (or is gone)."""
        with self._lock:
            answer = self._ask({"tokens": [text, model]}) if not self._gone else None
        tokens = answer.get("tokens") if answer else None
        return None if tokens is None else [token.encode("latin-1") for token in tokens]

    def _ask(self, request: dict) -> dict | None:
        """The child's answer, or None once it is gone (it is then stopped for good)."""
        if self._gone:
            return None
        try:
            self._child.stdin.write(json.dumps(request).encode() + b"\n")
            self._child.stdin.flush()
            answer = json.loads(self._child.stdout.readline())
            if isinstance(answer, dict):
                return answer
        except (OSError, ValueError, TypeError):
            pass
        self._stop_child()
        return None

    def _load_here(self):
        from openai_magics.offline.validation import load_validator

        try:
            return load_validator(self.document)
        except Exception as e:  # as the server says of a document it cannot read in its own process
            raise RuntimeError(f"the OpenAPI document {self.document} could not be read "
                               f"({type(e).__name__}: {e})") from None

    def stop(self) -> None:
        with self._lock:
            self._stop_child()

    def _stop_child(self) -> None:
        self._gone = True
        try:
            self._child.stdin.close()
        except OSError:
            pass
        self._child.kill()
        self._child.wait()


def serve(document: str) -> None:
    """Answer one line per request line until the input closes."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # interrupting the kernel signals its whole process group
    _package_alone()
    from openai_magics.offline.tokens import python_encoder
    from openai_magics.offline.validation import load_validator

    python_encoder("gpt-4o-mini")  # the default model's encoding, before the first request asks
    validator = load_validator(document)
    for line in sys.stdin.buffer:
        request = json.loads(line)
        if "tokens" in request:
            encoder = python_encoder(request["tokens"][1])
            found = encoder.encode(request["tokens"][0]) if encoder is not None else None
            answer = {"tokens": None if found is None else [token.decode("latin-1") for token in found]}
        else:
            path, body, method, media, names = request["validate"]
            files = {field: [SimpleNamespace(filename=n) for n in name] if isinstance(name, list)
                     else SimpleNamespace(filename=name) for field, name in names.items()}
            answer = {"violation": validator.violation(path, body, method, media, files)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


def _package_alone() -> None:
    """The package and the offline package as bare folders: their modules import as usual, without the
    `__init__`s, which would import the extension (IPython and all, ~0.15 s of CPU of no use here) and the
    whole server."""
    package = Path(__file__).resolve().parents[1]
    for name, folder in (("openai_magics", package), ("openai_magics.offline", package / "offline")):
        module = ModuleType(name)
        module.__path__ = [str(folder)]
        sys.modules[name] = module


if __name__ == "__main__":
    serve(sys.argv[1])
