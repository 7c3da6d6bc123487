"""`%%chat --over NAME --to PATH.parquet [--resume]`: answers written as they arrive, a killed kernel resumed
without asking again what was written, the result read lazily from the folder."""
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from conftest import ROOT, TEST_CHAT_MODEL, TEST_KEY
from openai_magics.views.row_results import RowError

KERNEL = """
import sys
from IPython.core.interactiveshell import InteractiveShell
from openai_magics.core.config import Secret
from openai_magics.core.session import session

base_url, path, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
session().configure(base_url=base_url, api_key=Secret({key!r}, "OPENAI_API_KEY"), bills="openai")
session().config.models["chat"] = {model!r}
shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "openai_magics")
shell.user_ns["items"] = [f"n{{i}}" for i in range(rows)]
shell.run_cell("%%chat --over items --to " + path + " --concurrency 2 -q\\nSay {{item}}")
print("finished", flush=True)
"""


def asked(offline) -> list[str]:
    return [r.body["messages"][-1]["content"] for r in offline.requests
            if r.path.startswith("/v1/chat/completions") and r.status == 200]


def rows_in(path) -> set[int]:
    return set(pd.read_parquet(path, columns=["row"])["row"])


def test_a_kernel_killed_mid_over_to_resumes_without_resending_written_rows(nb, session, offline, tmp_path):
    rows, path = 300, tmp_path / "answers.parquet"
    script = tmp_path / "kernel.py"
    script.write_text(KERNEL.format(key=TEST_KEY, model=TEST_CHAT_MODEL))
    offline.latency = 0.05  # ~40 rows a second at --concurrency 2: the kernel is killed well before the end
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    kernel = subprocess.Popen([sys.executable, str(script), offline.base_url, str(path), str(rows)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        while not list(path.glob("part-*.parquet")) and kernel.poll() is None:
            time.sleep(0.05)
        kernel.send_signal(signal.SIGKILL)
    finally:
        output = kernel.communicate(timeout=30)[0].decode()
    assert "finished" not in output, output
    written = rows_in(path)
    sent_before = asked(offline)
    assert 0 < len(written) < rows and len(sent_before) < rows
    offline.clear_log()
    offline.latency = 0.0

    nb.ns["items"] = [f"n{i}" for i in range(rows)]
    ran = nb.run(f"%%chat --over items --to {path} --resume -o resumed\nSay {{item}}")
    assert ran.error is None, ran.error
    asked_now = asked(offline)
    assert sorted(asked_now) == sorted(f"Say n{i}" for i in range(rows) if i not in written)
    assert f"{len(written):,} of them from the folder (written before, not asked again)" in ran.text
    series = nb.ns["resumed"].series
    assert len(series) == rows and not any(isinstance(v, RowError) for v in series)
    assert all(f"Say n{i}*" in series[i] for i in range(rows))
    assert rows_in(path) == set(range(rows))
    assert len(session.ledger.records) == len(asked_now)  # the rows from the folder were not paid again


def test_over_to_writes_parts_and_the_result_reads_them_lazily(nb, session, offline, tmp_path):
    path = tmp_path / "out.parquet"
    nb.ns["df"] = pd.DataFrame({"city": ["Oslo", "Lima", "Oslo"]}, index=["a", "b", "c"])
    ran = nb.run(f"%%chat --over df --to {path} -o out\nWeather in {{city}}?")
    assert ran.error is None and "3/3 rows written" in ran.text
    assert len(asked(offline)) == 2  # identical rows asked once, written for both
    table = pd.read_parquet(path).sort_values("row")
    assert list(table["row"]) == [0, 1, 2] and table["error"].isna().all()
    series = nb.ns["out"].series
    assert list(series.index) == ["a", "b", "c"] and series["a"] == series["c"] != series["b"]


def test_resume_when_everything_is_written_asks_nothing(nb, session, offline, tmp_path):
    path = tmp_path / "done.parquet"
    nb.ns["items"] = ["x", "y"]
    nb.run(f"%%chat --over items --to {path}\nSay {{item}}")
    offline.clear_log()
    ran = nb.run(f"%%chat --over items --to {path} --resume\nSay {{item}}")
    assert ran.error is None and asked(offline) == [] and "2 of them from the folder" in ran.text
