"""Cold `%load_ext` time in fresh processes (median of several), ours and jupyter-ai-magics' if installed.

Run by hand: python benchmarks/load_time.py [runs]
"""
from __future__ import annotations

import importlib.util
import statistics
import subprocess
import sys

SNIPPET = """
import time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
start = time.perf_counter()
shell.run_line_magic("load_ext", "{ext}")
print(time.perf_counter() - start)
"""


def cold_load(ext: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", SNIPPET.format(ext=ext)], capture_output=True, text=True,
                             check=True).stdout
        times.append(float(out.strip().splitlines()[-1]))
    return times


def main(runs: int = 7) -> None:
    ours = statistics.median(cold_load("openai_magics", runs))
    print(f"%load_ext openai_magics     median {ours * 1000:7.1f} ms over {runs} fresh processes")
    if importlib.util.find_spec("jupyter_ai_magics") is None:
        print("%load_ext jupyter_ai_magics  not installed (pip install jupyter-ai-magics to compare)")
        return
    theirs = statistics.median(cold_load("jupyter_ai_magics", runs))
    print(f"%load_ext jupyter_ai_magics median {theirs * 1000:7.1f} ms over {runs} fresh processes")
    print(f"ratio: jupyter_ai_magics takes {theirs / ours:,.0f}× as long")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
