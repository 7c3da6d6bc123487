"""Compatibility tier: Prism mocks OpenAI's published OpenAPI document in dynamic mode (random answers that
fit the schema), so every cell meets answers no real server would send on purpose.

Prism comes from npm (`.ci/run` installs it into .ci/prism/, or set $PRISM to its binary). Where it is not
installed the tier is skipped, loudly; a Prism that is there but does not start is a failure.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 180  # it parses a 3.4 MB document on a shared machine
_skipped: list[str] = []


def _skip(reason: str):
    _skipped.append(reason)
    pytest.skip(f"PRISM TIER SKIPPED: {reason}")


def pytest_terminal_summary(terminalreporter):
    for reason in dict.fromkeys(_skipped):
        terminalreporter.write_sep("!", "PRISM TIER SKIPPED", yellow=True, bold=True)
        terminalreporter.write_line(f"{reason}: cells were NOT checked against random spec answers.",
                                    yellow=True, bold=True)


def find_prism() -> str | None:
    candidates = [os.environ.get("PRISM"), ROOT / ".ci/prism/node_modules/.bin/prism", shutil.which("prism")]
    return next((str(c) for c in candidates if c and Path(c).is_file()), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def prism_url(tmp_path_factory):
    from openai_magics.offline import find_openapi_document

    binary, document = find_prism(), find_openapi_document()
    if binary is None:
        _skip("Prism is not installed (`npm install --prefix .ci/prism @stoplight/prism-cli`, or set $PRISM)")
    if document is None:
        _skip("OpenAI's OpenAPI document was not found (../shared/openapi/openapi.json)")
    port = _free_port()
    log = tmp_path_factory.mktemp("prism") / "prism.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([binary, "mock", "--dynamic", "--host", "127.0.0.1", "--port", str(port),
                                    str(document)], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while b"Prism is listening" not in log.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Prism did not start: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
