"""Browser tier fixtures: one JupyterLab and one headless Chromium for the whole tier.

Skipped, loudly, only where there is no browser binary (or the `browser` extra is not installed); a browser
that is there but fails to start is a failure, not a skip.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .lab import BROKEN_KERNEL, CHROMIUM_ARGS, KERNEL, JupyterLab, LabDriver, find_chromium

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
_skipped: list[str] = []


def _skip(reason: str):
    _skipped.append(reason)
    pytest.skip(f"BROWSER TIER SKIPPED: {reason}")


def pytest_terminal_summary(terminalreporter):
    for reason in dict.fromkeys(_skipped):
        terminalreporter.write_sep("!", "BROWSER TIER SKIPPED", yellow=True, bold=True)
        terminalreporter.write_line(f"{reason}: the views were NOT checked in a browser.", yellow=True, bold=True)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        _skip("no Chromium found (`apt-get install chromium`, or set $CHROMIUM)")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip("playwright is not installed (pip install -e '.[browser]')")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def broken_widgets(tmp_path_factory) -> Path:
    """A copy of widgets/ whose stream.js has a syntax error."""
    folder = tmp_path_factory.mktemp("broken-widgets")
    for asset in (ROOT / "widgets").iterdir():
        shutil.copy(asset, folder / asset.name)
    source = (folder / "stream.js").read_text()
    (folder / "stream.js").write_text(source.replace("function initialize(", "function initialize((", 1))
    return folder


@pytest.fixture(scope="session")
def jupyterlab(tmp_path_factory, broken_widgets):
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        _skip("jupyterlab is not installed (pip install -e '.[browser]')")
    kernels = {KERNEL: {}, BROKEN_KERNEL: {"OPENAI_MAGICS_WIDGETS_DIR": str(broken_widgets)}}
    lab = JupyterLab(tmp_path_factory.mktemp("jupyterlab"), kernels).start()
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="session")
def lab(browser, jupyterlab) -> LabDriver:  # the browser first: no server started to skip
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # only this run's screenshots
    ARTIFACTS.mkdir(parents=True)
    return LabDriver(jupyterlab, browser, ARTIFACTS)


@pytest.fixture(autouse=True)
def _one_case_at_a_time(request):
    yield
    if "lab" in request.fixturenames:
        request.getfixturevalue("lab").finish()


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: runs in JupyterLab in Chromium (deselect with -m 'not browser')")


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(item.fspath).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.browser)

