"""`%%chat --over NAME --to PATH.parquet [--resume]`: answers written as they arrive, a killed kernel resumed
without asking again what was written, the result read lazily from the folder."""
import os
import signal
import subprocess
import sys
import threading
import time

from decimal import Decimal

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
    [run] = session.ledger.records  # the run's calls in one row, which says what came from the folder
    assert run.calls == len(asked_now) and run.from_file == len(written)  # the folder's rows were not paid again
    usage = nb.run("%openai usage -o table")
    assert "from file" in usage.text and f"{len(asked_now):,} calls" in usage.text
    assert nb.ns["table"].to_pandas()["from_file"].tolist() == [len(written)]


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


def test_a_file_backed_run_keeps_one_ledger_row_whose_totals_are_the_sum_of_the_rows_in_the_file(nb, session, offline,
                                                                                                   tmp_path):
    nb.ns["items"] = [f"n{i % 30}" for i in range(40)]  # 30 distinct prompts, 10 rows repeat one
    memory = nb.run("%%chat --over items -o kept\nSay {item}")  # the same run held in memory: a row per call
    assert memory.error is None and len(session.ledger.records) == 30
    in_memory = nb.run("%openai usage").text.split("Total: ")[1].splitlines()[0]
    usd, tokens = session.ledger.total_cost, sum(r.usage.tokens for r in session.ledger.records)
    session.ledger.clear()
    offline.clear_log()

    path = tmp_path / "sums.parquet"
    ran = nb.run(f"%%chat --over items --to {path} -o out\nSay {{item}}")
    assert ran.error is None, ran.error
    [row] = session.ledger.records
    table = pd.read_parquet(path)
    assert row.calls == 30 == len(asked(offline)) and row.from_file == 0
    for column in ("input_tokens", "cached_tokens", "output_tokens", "reasoning_tokens"):
        assert table[column].sum() == getattr(row.usage, column)
    assert sum(table["cost"], Decimal(0)) == row.cost == usd > 0 and row.usage.tokens == tokens
    assert (table.groupby(table["row"] % 30)["cost"].apply(lambda c: (c > 0).sum()) == 1).all()  # paid once
    assert not table["cache_hit"].any()
    assert nb.run("%openai usage").text.split("Total: ")[1].splitlines()[0] == in_memory
    assert f"{tokens:,} tokens" in ran.text and in_memory.split(" · ")[1] in ran.text  # the cell's usage line


def test_an_interrupted_file_backed_run_keeps_in_the_ledger_every_call_it_paid(nb, session, offline, tmp_path):
    path, rows = tmp_path / "stopped.parquet", 200
    nb.ns["items"] = [f"n{i}" for i in range(rows)]
    offline.latency = 0.05

    def press_stop():
        while len(asked(offline)) < 20:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)

    stop = threading.Thread(target=press_stop)
    stop.start()
    ran = nb.run(f"%%chat --over items --to {path} --concurrency 2 -o stopped\nSay {{item}}")
    stop.join()
    assert isinstance(ran.error, KeyboardInterrupt) and "interrupted: --resume asks the rest" in ran.text
    answered = len(asked(offline))  # a call stopped on the wire after the server answered was never read (≤ 2)
    assert answered - 2 <= session.ledger.calls <= answered < rows  # summed in the run's row, those cut short beside
    written = pd.read_parquet(path)
    summed = next(r for r in session.ledger.records if r.calls > 1)
    assert summed.calls >= len(written) and sum(written["cost"], Decimal(0)) <= session.ledger.total_cost
    assert sum(isinstance(v, RowError) for v in nb.ns["stopped"].series) == rows - len(written)

    offline.latency = 0.0
    assert nb.run(f"%%chat --over items --to {path} --resume\nSay {{item}}").error is None
    assert not any(isinstance(v, RowError) for v in nb.ns["stopped"].series)  # the result reads the folder lazily
    assert session.ledger.records[-1].from_file == len(written)
