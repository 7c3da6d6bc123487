"""The fault and bad-input suite: a misbehaving server of our own beside the offline server's faults, and
the checks every case makes (one line, no traceback, no key anywhere)."""
from __future__ import annotations

import logging
import os

import pytest

from conftest import TEST_KEY  # noqa: F401 - the key every case searches for
from tests.faults.checks import ROGUE_KEY_ENV
from tests.faults.rogue import Rogue

HERE = os.path.dirname(__file__)


def pytest_collection_modifyitems(items):
    ours = [item for item in items if str(item.path).startswith(HERE)]
    pytest_collection_modifyitems.cases = len({item.nodeid for item in ours})


def pytest_terminal_summary(terminalreporter):
    cases = getattr(pytest_collection_modifyitems, "cases", 0)
    if cases:
        terminalreporter.write_line(f"fault suite: {cases} distinct cases (tests/faults)")


@pytest.fixture(scope="session")
def rogue_server():
    server = Rogue()
    yield server
    server.stop()


@pytest.fixture
def rogue(rogue_server, session, monkeypatch):
    """The misbehaving server, its script empty; the session keeps the offline server until a test moves."""
    rogue_server.script()

    monkeypatch.setenv(ROGUE_KEY_ENV, TEST_KEY)
    yield rogue_server
    rogue_server.script()


@pytest.fixture
def fast(session):
    """Timeouts and retries small enough that no case waits long."""
    session.configure(timeout=0.5, connect_timeout=0.5, max_retries=1)
    return session


@pytest.fixture
def one_try(session):
    """One retry at most, as `fast`, but the usual waits: for cases where an answer comes and what it shows is
    the point, so that a busy machine's late first byte is not taken for a silent server."""
    session.configure(max_retries=1)
    return session


@pytest.fixture
def logs(caplog):
    """Every log record, at every level, of every logger (the SDK's and httpx's debug lines included)."""
    caplog.set_level(logging.DEBUG)
    return caplog
