"""Fixtures: the offline server over real HTTP, and a real IPython shell with the extension loaded."""
from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# A recognisable fake key: every output a test captures is searched for it.
TEST_KEY = "sk-test-DO-NOT-LEAK-4f9c2b7e1d3a5c8e0b6d"
# The chat model the tests' figures were written for (not the shipped default: test_default_model covers that).
TEST_CHAT_MODEL = "gpt-4o-mini"


def pytest_configure(config):
    # A run started in the background of a script (`cmd &`, nohup) inherits SIGINT ignored, and Python then
    # never installs its KeyboardInterrupt handler: every stop the interrupt tests press (and their children's,
    # which inherit the ignoring) would be lost. A kernel installs the handler around each cell (ipykernel
    # does), so a user's stop always arrives; the shell these tests drive gets it the same way.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def server():
    from openai_magics.offline import OfflineServer, find_openapi_document

    document = find_openapi_document()
    if document is None and os.environ.get("CI"):
        pytest.fail("CI must validate requests: ../shared/openapi/openapi.json was not found")
    with OfflineServer(openapi=document) as srv:
        yield srv


@pytest.fixture
def offline(server):
    """The shared server, reset: no faults, no latency, an empty request log."""
    server.reset()
    yield server
    server.reset()


@pytest.fixture
def session(offline):
    """A fresh session pointed at the offline server with a fake key."""
    from openai_magics.core.config import Secret
    from openai_magics.core.session import reset_session

    s = reset_session()
    s.configure(base_url=offline.base_url, api_key=Secret(TEST_KEY, "OPENAI_API_KEY"), max_retries=3,
                bills="openai")  # the offline server bills like OpenAI
    s.config.models["chat"] = TEST_CHAT_MODEL
    return s


@dataclass
class Ran:
    """What a user saw from one cell."""

    result: object
    error: BaseException | None
    stdout: str
    stderr: str
    outputs: list[dict] = field(default_factory=list)  # display_data bundles, in order

    @property
    def text(self) -> str:
        shown = [str(v) for bundle in self.outputs for v in bundle.values()]
        return "\n".join([self.stdout, self.stderr, *shown, repr(self.result)])


class Notebook:
    """Runs cells the way a notebook does (history, execution counts) and captures what shows."""

    def __init__(self, shell):
        self.shell = shell

    def run(self, cell: str, cell_id: str | None = None) -> Ran:
        """Run a cell; `cell_id` is what a notebook frontend sends to identify the cell across re-runs."""
        from IPython.utils.capture import capture_output

        with capture_output() as captured:
            result = self.shell.run_cell(cell, store_history=True, cell_id=cell_id)
        ran = Ran(result.result, result.error_before_exec or result.error_in_exec, captured.stdout,
                  captured.stderr, [o.data for o in captured.outputs])
        if result.result is not None:
            from IPython.core.formatters import format_display_data

            ran.outputs.append(format_display_data(result.result)[0])
        assert TEST_KEY not in ran.text, "the API key leaked into a cell's output"
        return ran

    @property
    def ns(self) -> dict:
        return self.shell.user_ns


@pytest.fixture(scope="session")
def ipython():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "openai_magics")
    return shell


@pytest.fixture
def nb(ipython, session):
    yield Notebook(ipython)
    # One shell serves every test: forget what this test defined, so no test sees another's variables.
    for name in [n for n in ipython.user_ns if n not in ipython.user_ns_hidden and not n.startswith("_")]:
        del ipython.user_ns[name]


@pytest.fixture
def replayed(nb, offline, tmp_path):
    """`replayed(cell, other)`: `cell` (with `{out}` for its -o name) run once into a cache file as `first`, then,
    under `%openai replay` of that file and with the server's log cleared, run again as `replayed`, and `other`
    (a cell not in the file) run: the two later runs."""
    def run(cell: str, other: str):
        path = tmp_path / "replay.db"
        nb.run(f"%openai cache on {path}")
        nb.run(cell.format(out="first"))
        nb.run(f"%openai replay {path}")
        offline.clear_log()
        try:
            return nb.run(cell.format(out="replayed")), nb.run(other)
        finally:
            nb.run("%openai replay off")
    return run
