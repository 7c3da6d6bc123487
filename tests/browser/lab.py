"""The browser tier's machinery: a real JupyterLab server, and a driver that runs a notebook in Chromium.

A view case is a notebook (cells), an optional JavaScript probe sampled while the cells run, and checks that
read the samples and the DOM afterwards. `LabDriver.run` does the part every case shares: it writes the
notebook, opens it in JupyterLab, waits for the kernel, runs all cells from the Run menu, samples the probe,
takes screenshots, and collects what must never show (widget errors, browser console errors, tracebacks).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

KERNEL = "python3"
BROKEN_KERNEL = "python3-broken-widgets"  # a kernel whose widgets load their ES modules from a broken copy
SETTINGS = {  # JupyterLab user settings: every cell in the DOM, and no calls to the internet
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
WIDGET_ERROR = "Error displaying widget"
WIDGET_LOADING = "Loading widget..."  # still there when the run is over: a widget whose model never came

# What the page knows about the notebook at any moment: prompts, kernel state, the output areas.
NOTEBOOK_STATE_JS = """() => ({
  prompts: [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')]
             .map(e => e.textContent.trim()),
  kernel: document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status ?? null,
})"""
ERRORS_JS = """() => ({
  widget: document.body.innerText.includes('%s'),
  loading: document.body.innerText.includes('%s'),
  tracebacks: [...document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
                .map(e => e.innerText.slice(0, 500)),
})""" % (WIDGET_ERROR, WIDGET_LOADING)


def find_chromium() -> str | None:
    """`$CHROMIUM` when set, else Debian's Chromium: the binary itself rather than the /usr/bin shell wrapper."""
    candidates = [os.environ["CHROMIUM"]] if "CHROMIUM" in os.environ else [
        "/usr/lib/chromium/chromium", shutil.which("chromium"), shutil.which("chromium-browser")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


class JupyterLab:
    """`jupyter lab` on 127.0.0.1, no token, in a throwaway root with its own config, settings and kernels."""

    def __init__(self, home: Path, kernels: dict[str, dict[str, str]]):
        self.home = home
        self.root = home / "root"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = home / "jupyterlab.log"
        self.kernels = kernels  # kernel name -> extra environment for that kernel
        self.process: subprocess.Popen | None = None

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "OPENAI_"))}
        dirs = {"JUPYTER_CONFIG_DIR": "config", "JUPYTER_DATA_DIR": "data", "JUPYTER_RUNTIME_DIR": "runtime",
                "JUPYTERLAB_SETTINGS_DIR": "settings", "JUPYTERLAB_WORKSPACES_DIR": "workspaces"}
        env.update({name: str(self.home / sub) for name, sub in dirs.items()})
        env["JUPYTER_PREFER_ENV_PATH"] = "0"  # our kernelspecs (in JUPYTER_DATA_DIR) win over any installed one
        return env

    def _prepare(self) -> None:
        self.root.mkdir(parents=True)
        for name, extra_env in self.kernels.items():
            # This interpreter, named explicitly: the kernel imports the same openai_magics the tests do.
            _write_json(self.home / "data/kernels" / name / "kernel.json", {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": name, "language": "python", "env": extra_env})
        for plugin, values in SETTINGS.items():
            _write_json(self.home / "settings" / f"{plugin}.jupyterlab-settings", values)
        self.set_theme("light")

    def set_theme(self, theme: str) -> None:
        """The theme of pages opened from now on (JupyterLab reads user settings when a page loads)."""
        _write_json(self.home / "settings/@jupyterlab/apputils-extension/themes.jupyterlab-settings",
                    {"theme": THEMES[theme]})

    def start(self, timeout: float = 60) -> "JupyterLab":
        self._prepare()
        command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
                   "--ServerApp.port_retries=0", "--IdentityProvider.token=", "--ServerApp.password=",
                   "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={self.root}", "--allow-root",
                   f"--MultiKernelManager.default_kernel_name={KERNEL}"]
        log = self.log_path.open("w")
        self.process = subprocess.Popen(command, env=self._environment(), stdout=log, stderr=subprocess.STDOUT,
                                        cwd=self.root)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited ({self.process.returncode}):\n{self.log()}")
            try:
                self.api("GET", "/api/status")
                return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer within {timeout} s:\n{self.log()}")

    def api(self, method: str, path: str):
        request = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")

    def log(self) -> str:
        return self.log_path.read_text()[-4000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # the server shuts its kernels down on SIGTERM
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class LabRun:
    """What a notebook run looked like in the browser."""

    name: str
    page: object
    phase: str = "opening"  # when a console error came: opening the notebook, running it, or done
    samples: list = field(default_factory=list)  # the case's probe, sampled while the cells ran
    console_errors: list[str] = field(default_factory=list)
    widget_error: bool = False
    widget_loading: bool = False
    tracebacks: list[str] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)
    driver: "LabDriver | None" = None  # for a check that takes a picture
    dialogs: list[str] = field(default_factory=list)  # JupyterLab dialogs closed to go on (see _close_dialog)

    def problems(self) -> list[str]:
        """What must never show in any case."""
        found = [f"browser console: {e}" for e in self.console_errors]
        found += [f"cell error output: {t}" for t in self.tracebacks]
        if self.widget_error:
            found.append(f'"{WIDGET_ERROR}" on the page')
        if self.widget_loading:
            found.append(f'"{WIDGET_LOADING}" still on the page after the run')
        return found


class LabDriver:
    """Runs notebooks in JupyterLab in Chromium, one fresh browser context (and kernel) per run."""

    def __init__(self, lab: JupyterLab, browser, artifacts: Path):
        self.lab, self.browser, self.artifacts = lab, browser, artifacts
        self._contexts: list = []

    def finish(self) -> None:
        """After a case: close its pages and shut its kernel down (the machine is shared)."""
        while self._contexts:
            self._contexts.pop().close()
        self.lab.shutdown_kernels()

    def write_notebook(self, name: str, cells: list[str], kernel: str) -> str:
        import nbformat

        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        notebook.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
        nbformat.write(notebook, self.lab.root / f"{name}.ipynb")
        return f"{name}.ipynb"

    def run(self, name: str, cells: list[str], *, probe: str | None = None, kernel: str = KERNEL,
            timeout: float = 90, width: int = 1280, theme: str = "light",
            during: Callable | None = None, settle_ms: int = 0) -> LabRun:
        """Run all cells; `probe` (a JS function returning JSON or null) is sampled until the cells are done,
        and `during(run, sample)`, when given, is called with each sample.

        Screenshots: the page while the view is live ("during": when a sample says `shot: true`, else at the 5th
        sample) and at the end; the samples are saved beside them. A notebook whose kernel still runs (a case
        run before without `finish()`) opens on that kernel: `settle_ms` lets the page restore its widgets."""
        path = self.write_notebook(name, cells, kernel)
        run = self._open(name, path, width, theme)
        run.page.wait_for_timeout(settle_ms)
        run.phase = "running"
        self._run_all_cells(run)
        self._wait_until_done(run.page, run, probe, len(cells), timeout, during)
        self._settle(run)
        run.screenshots.append(self.screenshot(run.page, f"{name}-after"))
        (self.artifacts / f"{name}-samples.json").write_text(json.dumps(run.samples, indent=1))
        return run

    def reopen(self, name: str, settle_ms: int = 3000) -> LabRun:
        """Open a saved notebook without running it (a new kernel): what its saved outputs show."""
        run = self._open(f"{name}-reopened", f"{name}.ipynb", 1280, "light")
        run.page.wait_for_timeout(settle_ms)  # the widget manager restores (or fails to find) models
        self._settle(run)
        run.screenshots.append(self.screenshot(run.page, f"{name}-reopened"))
        return run

    def _open(self, name: str, path: str, width: int, theme: str) -> LabRun:
        self.lab.set_theme(theme)
        context = self.browser.new_context(viewport={"width": width, "height": 1400},
                                           permissions=["clipboard-read", "clipboard-write"])
        self._contexts.append(context)
        page = context.new_page()
        run = LabRun(name, page, driver=self)
        page.on("console", lambda m: m.type == "error" and run.console_errors.append(f"[{run.phase}] {m.text}"))
        page.on("pageerror", lambda e: run.console_errors.append(f"[{run.phase}] uncaught: {e}"))
        page.goto(f"{self.lab.url}/lab/workspaces/{name}/tree/{path}?reset")  # its own workspace: one tab
        page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=60_000)
        page.wait_for_selector(".jp-Notebook .jp-CodeCell")
        return run

    @staticmethod
    def _settle(run: LabRun) -> None:
        run.phase = "done"
        errors = run.page.evaluate(ERRORS_JS)
        run.widget_error, run.widget_loading, run.tracebacks = errors["widget"], errors["loading"], errors["tracebacks"]

    def _run_all_cells(self, run: LabRun, attempts: int = 3) -> None:
        """Run > Run All Cells. Just after loading, the menu can act before the notebook is ready and do
        nothing, or (on a loaded machine) run the first cell alone; queued cells show `[*]` at once, so if any
        cell is still unqueued the command did not fire as asked and is retried (what ran runs again). A
        JupyterLab dialog that takes the clicks is closed first, and named if the cells still do not start."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        page = run.page
        for _ in range(attempts):
            try:
                page.locator(".jp-Notebook").first.click(timeout=10_000)  # the current widget the Run menu acts on
                page.get_by_role("menuitem", name="Run", exact=True).click(timeout=10_000)
                page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click(timeout=10_000)
            except PlaywrightTimeout:
                if not self._close_dialog(run):
                    raise
                continue
            for _ in range(30):
                if all(p != "[ ]:" for p in page.evaluate(NOTEBOOK_STATE_JS)["prompts"]):
                    return
                page.wait_for_timeout(100)
        raise AssertionError(f"Run > Run All Cells did not start the cells ({attempts} tries); "
                             f"dialogs closed: {run.dialogs}")

    def _close_dialog(self, run: LabRun) -> bool:
        """Close a JupyterLab dialog over the page as Escape does (its cancel), keeping its text and a picture.
        On a loaded machine JupyterLab once put one up over a notebook that was ready (which one is not known: its
        text was not kept then); none of ours makes one. False when there is none."""
        dialog = run.page.locator(".jp-Dialog").first
        if not run.page.locator(".jp-Dialog").count() or not dialog.is_visible():
            return False
        run.dialogs.append(" ".join(dialog.inner_text().split()))
        run.screenshots.append(self.screenshot(run.page, f"{run.name}-dialog-{len(run.dialogs)}"))
        (self.artifacts / f"{run.name}-dialogs.txt").write_text("\n".join(run.dialogs) + "\n")
        run.page.keyboard.press("Escape")
        dialog.wait_for(state="hidden", timeout=10_000)
        return True

    def _wait_until_done(self, page, run: LabRun, probe: str | None, n_cells: int, timeout: float,
                         during: Callable | None = None) -> None:
        deadline, live, shot = time.monotonic() + timeout, 0, False
        while time.monotonic() < deadline:
            if probe:
                sample = page.evaluate(probe)
                if sample is not None:
                    run.samples.append(sample)
                    live += 1
                    if not shot and sample.get("shot", live >= 5):  # the probe says when, else ~0.5 s in
                        run.screenshots.append(self.screenshot(page, f"{run.name}-during"))
                        shot = True
                    if during:
                        during(run, sample)
            state = page.evaluate(NOTEBOOK_STATE_JS)
            done = len(state["prompts"]) == n_cells and all(re.fullmatch(r"\[\d+\]:", p) for p in state["prompts"])
            if done and state["kernel"] == "idle":
                page.wait_for_timeout(500)  # let the last outputs and MathJax settle
                return
            page.wait_for_timeout(100)
        self.screenshot(page, f"{run.name}-timeout")
        raise AssertionError(f"{run.name}: cells still running after {timeout} s: {state}")

    def output_screenshot(self, run: LabRun, index: int, name: str) -> Path:
        """One code cell's outputs alone (the README's pictures are these)."""
        path = self.artifacts / f"{name}.png"
        output = run.page.locator(".jp-Notebook .jp-CodeCell").nth(index).locator(".jp-OutputArea")
        output.screenshot(path=str(path))
        run.screenshots.append(path)
        return path

    def screenshot(self, page, name: str) -> Path:
        path = self.artifacts / f"{name}.png"
        page.screenshot(path=str(path))
        return path


@dataclass
class ViewCase:
    """One view checked in the browser. A new view adds one: its cells, a probe, and what must show.

    `check(run)` returns the problems it sees (an empty list when the view works), so the same checks can
    also prove that they catch a broken view."""

    name: str
    cells: list[str]
    check: Callable[[LabRun], list[str]]
    probe: str | None = None  # JS: a JSON-able sample of the live view while it runs, null while it is not live

    width: int = 1280

    def run(self, lab: LabDriver, **options) -> tuple[LabRun, list[str]]:
        options.setdefault("width", self.width)
        run = lab.run(self.name + options.pop("suffix", ""), self.cells, probe=self.probe, **options)
        return run, run.problems() + self.check(run)
