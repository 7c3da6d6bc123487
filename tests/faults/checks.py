"""What every fault case checks: one line, no traceback, no key anywhere."""
from __future__ import annotations

from conftest import TEST_KEY

ROGUE_KEY_ENV = "OPENAI_MAGICS_TEST_ROGUE_KEY"


def no_key(*texts) -> None:
    for text in texts:
        assert TEST_KEY not in str(text), "the API key leaked"
        assert TEST_KEY[8:24] not in str(text), "part of the API key leaked"


def one_line(ran, *needles: str) -> str:
    """The cell failed with one line (UsageError or CallFailed), no traceback, no key; the line is returned."""
    assert ran.error is not None, f"the cell did not fail: {ran.text[:300]}"
    shown = (ran.stdout + ran.stderr).strip()
    assert "Traceback" not in shown and "File \"" not in shown, shown[:2000]
    lines = [line for line in shown.splitlines() if line.strip()]
    assert len(lines) == 1, shown[:2000]
    no_key(shown, str(ran.error), repr(ran.error))
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def no_key_logged(logs) -> None:
    for record in logs.records:
        no_key(record.getMessage(), record.exc_text or "", repr(record.args))
