"""Refresh the README's pictures: the browser tier's JupyterLab and Chromium, light and dark, kept small.

Run by hand from the repository root: python docs/screenshots.py
Writes docs/{streaming,answer,usage}-{light,dark}.png: a streaming answer, the finished answer with its
usage line, and the usage table with its chart.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.lab import CHROMIUM_ARGS, KERNEL, JupyterLab, LabDriver, find_chromium  # noqa: E402
from tests.browser.test_lab import PRICED, SETUP, STREAM_PROBE  # noqa: E402

DOCS = ROOT / "docs"
CELLS = [SETUP, "%openai cache on readme-cache.db\n%openai cache clear",
         "%%chat -m gpt-4o-mini\nWhat is Euler's identity? (offline: 150 tokens)", PRICED, PRICED, "%openai usage"]
COLOURS = 48  # a palette this small keeps each picture at a few tens of KB


def output_shot(run, index: int, path: Path) -> None:
    run.page.locator(".jp-Notebook .jp-CodeCell").nth(index).locator(".jp-OutputArea").screenshot(path=str(path))
    with Image.open(path) as image:
        image.convert("RGB").quantize(COLOURS).save(path, optimize=True)


def shoot(driver: LabDriver, theme: str) -> None:
    taken = []

    def while_streaming(run, sample):
        if not taken and sample["code"]:
            output_shot(run, 2, DOCS / f"streaming-{theme}.png")
            taken.append(True)

    run = driver.run(f"readme-{theme}", CELLS, probe=STREAM_PROBE, kernel=KERNEL, width=1280, theme=theme,
                     during=while_streaming)
    assert run.problems() == [], run.problems()
    output_shot(run, 2, DOCS / f"answer-{theme}.png")
    output_shot(run, 5, DOCS / f"usage-{theme}.png")
    driver.finish()


def main() -> None:
    with tempfile.TemporaryDirectory() as home, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), headless=True, args=CHROMIUM_ARGS)
        lab = JupyterLab(Path(home), {KERNEL: {}}).start()
        try:
            driver = LabDriver(lab, browser, Path(home))
            for theme in ("light", "dark"):
                shoot(driver, theme)
        finally:
            lab.stop()
            browser.close()
    for path in sorted(DOCS.glob("*.png")):
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
