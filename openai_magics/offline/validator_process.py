"""Request validation in a process of its own, for the server `%openai offline` starts in a kernel.

Loading the validator (jsonschema, the 3.4 MB OpenAPI document) takes ~140 ms of CPU under the GIL, in the
same seconds as the kernel imports the SDK for its first answer: in a process of its own it loads on the other
core. The request log, faults and every other state stay in the kernel's server; only a body crosses, as one
line of JSON each way, and the answer is the same one line `RequestValidator.violation` gives. The process
ends when the kernel does (its input closes). Should it fail, the server validates in its own process again.

    python -P openai_magics/offline/validator_process.py OPENAPI_DOCUMENT
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace


class ValidatorProcess:
    """`violation(...)` as `RequestValidator` has it, answered by a child process started at once."""

    def __init__(self, document: str | Path):
        self.document = str(document)
        self._lock = threading.Lock()
        self._local = None  # the in-process validator, once the child has failed
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
                try:
                    self._child.stdin.write(json.dumps([path, body, method, media, names]).encode() + b"\n")
                    self._child.stdin.flush()
                    return json.loads(self._child.stdout.readline())["violation"]
                except (OSError, ValueError, KeyError, TypeError):  # the child is gone: validate here from now on
                    self._stop_child()
                    self._local = self._load_here()
        return self._local.violation(path, body, method, media, files)

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
    validator = _validation_alone().load_validator(document)
    for line in sys.stdin.buffer:
        path, body, method, media, names = json.loads(line)
        files = {field: [SimpleNamespace(filename=n) for n in name] if isinstance(name, list)
                 else SimpleNamespace(filename=name) for field, name in names.items()}
        sys.stdout.write(json.dumps({"violation": validator.violation(path, body, method, media, files)}) + "\n")
        sys.stdout.flush()


def _validation_alone():
    """validation.py, and the wire/sdk.py it takes jsonschema from, loaded by their paths: imported as the
    package's modules they would import the package first (IPython and all, ~0.15 s of CPU of no use here)."""
    import importlib.util

    package = Path(__file__).resolve().parents[1]
    for name, path in (("openai_magics.wire.sdk", package / "wire" / "sdk.py"),
                       ("openai_magics.offline.validation", package / "offline" / "validation.py")):
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    serve(sys.argv[1])
