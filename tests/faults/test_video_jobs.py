"""%%video against a server whose jobs misbehave: a failure that echoes the key, content that is not a video, an
answer that is not a job, a job that never says how long it is. One line each, no traceback, no key anywhere,
and in the ledger exactly what was paid (a completed job), nothing else."""
from __future__ import annotations

import pytest

from tests.faults.checks import ROGUE_KEY_ENV, no_key, no_key_logged, one_line
from tests.faults.rogue import Answer, by_path, json_answer

CELL = "%%video --seconds 4 --size 720x1280 -o clip\nA fox in the snow"


def job(status: str, **fields) -> dict:
    return {"id": "video_rogue1", "object": "video", "model": "sora-2", "status": status, "progress": 0,
            "seconds": "4", "size": "720x1280", "created_at": 1700000000, **fields}


@pytest.fixture
def at_rogue(nb, rogue, fast):
    assert nb.run(f"%openai endpoint {rogue.base_url} --key-env {ROGUE_KEY_ENV}").error is None
    yield rogue
    nb.run("%xmode Context")


@pytest.mark.parametrize("xmode", ["Context", "Verbose"])
def test_a_failed_job_whose_error_echoes_the_key_is_one_line_without_it(nb, at_rogue, session, logs, xmode):
    nb.run(f"%xmode {xmode}")
    echoed = lambda seen: json_answer(job("failed", error={  # noqa: E731
        "code": "internal", "message": f"render farm refused Authorization: {seen.authorization}"}))
    at_rogue.script(by_path({"/videos": json_answer(job("queued")), "/videos/video_rogue1": echoed}))
    ran = nb.run(CELL)
    line = one_line(ran, "video_rogue1 failed", "render farm refused")
    no_key(line, session.ledger.rows())
    no_key_logged(logs)
    assert session.ledger.records == []  # no video was made: nothing is billed


@pytest.mark.parametrize("content, said", [
    (Answer(body=b"GIF89a not a film", content_type="application/octet-stream"), "not an MP4"),
    (Answer(body=b"<html>Service unavailable</html>", content_type="text/html"), "a text/html page")],
    ids=["bytes", "html page"])
def test_a_completed_job_whose_content_is_not_an_mp4_is_in_the_ledger_and_one_line(nb, at_rogue, session,
                                                                                     content, said):
    at_rogue.script(by_path({"/videos/video_rogue1/content": content,
                             "/videos": json_answer(job("completed", progress=100))}))
    one_line(nb.run(CELL), said)
    [record] = session.ledger.records  # the job completed: it is billed, whatever its download gave
    assert record.usage.video_seconds == 4 and not record.cache_hit
    assert record.unreadable == (said == "not an MP4")  # bytes that are no video; a page is a failed download  # priced "unknown": a compatible server


@pytest.mark.parametrize("answer", [{"error": None, "hello": "world"}, job("queued", seconds="four"),
                                    job("dancing")], ids=["not a job", "no length", "unknown status"])
def test_an_answer_that_is_not_a_video_job_is_one_line_and_charges_nothing(nb, at_rogue, session, answer):
    at_rogue.script(json_answer(answer))
    one_line(nb.run(CELL), "nothing was kept")
    assert session.ledger.records == [] and "clip" not in nb.ns
