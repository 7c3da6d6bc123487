"""%%video over real HTTP to the offline server: a real, playable MP4 of the size and length asked, shown in a
player the saved notebook keeps; priced per second in the ledger, bounded by the budget, cached; a first
frame, a remix; an interrupt that keeps the job; and bad input refused before anything is sent."""
import base64
import io
import re
from decimal import Decimal

import pytest
from PIL import Image

import openai_magics
from openai_magics.metering.pricing import extra_prices
from openai_magics.offline.api.videos import Videos
from tests.faults.checks import one_line
from tests.faults.test_hangs import interrupt_when


def video_requests(offline):
    return [r for r in offline.requests if r.path.startswith("/v1/videos")]


def per_second(model: str, size: str) -> Decimal:
    return Decimal(str(extra_prices()["per_second_video"]["models"][model][size]))


def played(data: bytes) -> tuple:
    """What a player finds in the file: codec, width, height, seconds, frames, and the first frame."""
    import av

    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        first = next(container.decode(video=0)).to_image()
        return (stream.codec_context.name, stream.width, stream.height, container.duration / 1_000_000,
                stream.frames, first)


def player_bytes(html: str) -> bytes:
    [src] = re.findall(r'<video [^>]*src="data:video/mp4;base64,([^"]+)"', html)
    return base64.b64decode(src)


def test_a_video_of_the_size_and_length_asked_plays_in_a_player_the_notebook_keeps(nb, session, offline):
    ran = nb.run("%%video -m sora-2-pro --seconds 8 --size 1280x720 -o clip\nA red fox runs through the snow")
    assert ran.error is None, ran.stderr
    clip = nb.ns["clip"]
    codec, width, height, seconds, frames, _ = played(clip.bytes)
    assert (codec, width, height, seconds) == ("h264", 1280, 720, 8.0) and frames > 8
    assert clip.id.startswith("video_") and (clip.model, clip.seconds, clip.size) == ("sora-2-pro", 8, "1280x720")
    html = ran.outputs[-1]["text/html"]
    assert player_bytes(html) == clip.bytes and "<video controls" in html
    assert "8 s video (1280x720) · &#36;2.40" in html and "$" not in html.replace("&#36;", "")
    # The job was followed: created, read until completed, then downloaded; the body asked exactly that.
    sent = video_requests(offline)
    assert sent[0].method == "POST" and sent[0].path == "/v1/videos" and sent[0].status == 200
    assert sent[0].body == {"model": "sora-2-pro", "prompt": "A red fox runs through the snow", "seconds": "8",
                            "size": "1280x720"}
    assert {r.path for r in sent[1:-1]} == {f"/v1/videos/{clip.id}"} and len(sent) >= 3
    assert sent[-1].path == f"/v1/videos/{clip.id}/content"
    [record] = session.ledger.records
    assert record.magic == "video" and record.usage.video_seconds == 8 and record.usage.video_size == "1280x720"
    assert record.cost == 8 * per_second("sora-2-pro", "1280x720") == Decimal("2.4") and not record.estimated


def test_the_live_cell_shows_the_jobs_progress_in_a_widget_the_saved_notebook_does_not_keep(nb, offline):
    ran = nb.run("%%video\nA paper boat on a pond")
    widgets = [o for o in ran.outputs if "application/vnd.jupyter.widget-view+json" in o]
    assert widgets and all(o["text/plain"] == "" for o in widgets)
    assert widgets[-1]["application/vnd.jupyter.widget-view+json"]["model_id"] == ""  # retired once done
    assert "<video " in ran.outputs[-1]["text/html"]


def test_a_view_sees_the_status_and_progress_rise_until_completed(session, offline):
    seen = []

    class Recording:  # a progress view (views.progress): the tally is the job's status and percent done
        def start(self, tally):
            self.tally = tally
            seen.append(("start", tally.status, tally.total))

        def update(self, force=False):
            seen.append((self.tally.status, self.tally.done))

        def finish(self):
            seen.append(("finish",))

    offline.state.part(Videos).stage_seconds = 0.5
    try:
        openai_magics.video("A slow sunrise", view=Recording())
    finally:
        offline.state.part(Videos).stage_seconds = Videos().stage_seconds
    assert seen[0] == ("start", "sending", 100) and seen[-1] == ("finish",)
    readings = seen[1:-1]
    assert readings[0] == ("queued", 0) and readings[-1] == ("completed", 100)
    assert any(status == "in_progress" for status, _ in readings)
    assert [p for _, p in readings] == sorted(p for _, p in readings)


def test_the_same_prompt_makes_the_same_video_and_another_prompt_another(session, offline):
    one = openai_magics.video("A lighthouse at dawn", cache=False)
    two = openai_magics.video("A lighthouse at dawn", cache=False)
    other = openai_magics.video("A lighthouse at dusk", cache=False)
    assert one.id != two.id and one.bytes == two.bytes and other.bytes != one.bytes
    assert b"Lavf" not in one.bytes  # nor the muxer's version: a saved notebook re-runs the same with another PyAV


def test_from_plain_python_save_writes_the_mp4(session, offline, tmp_path):
    clip = openai_magics.video("A kite over the beach", size="1280x720", save=tmp_path)
    assert clip.saved_to == tmp_path / "a-kite-over-the-beach.mp4" and clip.saved_to.read_bytes() == clip.bytes
    named = clip.save(tmp_path / "kite.mp4")
    assert named.read_bytes() == clip.bytes and played(named.read_bytes())[1:4] == (1280, 720, 4.0)


def test_image_is_the_first_frame_sent_as_input_reference(nb, session, offline):
    nb.ns["start"] = Image.new("RGB", (1280, 720), (0, 40, 200))
    ran = nb.run("%%video --size 1280x720 --image start -o clip\nThe blue sea comes alive")
    assert ran.error is None, ran.stderr
    created = video_requests(offline)[0]
    assert created.files["input_reference"].content_type == "image/png"
    assert Image.open(io.BytesIO(created.files["input_reference"].data)).size == (1280, 720)
    first = played(nb.ns["clip"].bytes)[5]
    red, green, blue = first.resize((1, 1)).getpixel((0, 0))  # the frame is mostly the blue image given
    assert blue > red + 40 and blue > green + 40


def test_a_remix_keeps_model_size_and_length_and_is_priced_by_them(nb, session, offline):
    nb.run("%%video -m sora-2-pro --size 1024x1792 -o first\nA cat on a windowsill")
    offline.clear_log()
    ran = nb.run("%%video --remix {first} -o again\nThe same cat, now asleep")
    assert ran.error is None, ran.stderr
    again, first = nb.ns["again"], nb.ns["first"]
    assert again.job.remixed_from == first.id and (again.model, again.size, again.seconds) == ("sora-2-pro", "1024x1792", 4)
    paths = [r.path for r in video_requests(offline)]
    assert paths[0] == f"/v1/videos/{first.id}" and paths[1] == f"/v1/videos/{first.id}/remix"
    assert video_requests(offline)[1].body == {"prompt": "The same cat, now asleep"}
    assert session.ledger.records[-1].cost == 4 * per_second("sora-2-pro", "1024x1792") == Decimal("2.0")
    assert f"remix of {first.id}" in ran.outputs[-1]["text/html"]


def test_a_repeat_is_a_cache_hit_at_zero_that_shows_the_same_player(nb, session, offline, tmp_path):
    nb.run(f"%openai cache on {tmp_path / 'c.db'}")
    first = nb.run("%%video --seconds 4 -o a\nTwo pears on a table")
    sent = len(video_requests(offline))
    second = nb.run("%%video --seconds 4 -o b\nTwo pears on a table")
    assert len(video_requests(offline)) == sent
    assert nb.ns["b"].cache_hit and nb.ns["b"].bytes == nb.ns["a"].bytes and nb.ns["b"].id == nb.ns["a"].id
    paid, hit = session.ledger.records
    assert paid.cost == Decimal("0.4") and hit.cache_hit and hit.cost == 0 and hit.saved == Decimal("0.4")
    assert player_bytes(second.outputs[-1]["text/html"]) == player_bytes(first.outputs[-1]["text/html"])
    assert "&#36;0 (cached)" in second.outputs[-1]["text/html"]


def test_a_budget_refuses_a_video_whose_seconds_cost_more_than_is_left(nb, session, offline):
    nb.run("%openai budget 1.00")
    ran = nb.run("%%video --seconds 12\nA long walk")  # 12 s × $0.10 = $1.20
    one_line(ran, "Refused before sending", "12 s 720x1280 video on sora-2", "$1.20")
    assert not video_requests(offline) and not session.ledger.records
    assert nb.run("%%video --seconds 8\nA shorter walk").error is None  # $0.80 fits


def test_on_openai_itself_a_video_says_the_videos_api_is_gone_as_the_sdk_does(nb, session, offline):
    from openai_magics.core.config import Secret

    assert nb.run("%%video\nA fox").error is None  # a server that still serves videos is asked as usual
    session.configure(base_url=None, api_key=Secret("sk-test-not-sent", "test"))
    offline.clear_log()
    one_line(nb.run("%%video\nA hare"), "OpenAI's Videos API is gone; the installed openai SDK says: The Sora API is "
             "scheduled to permanently shut down on September 24, 2026. Nothing was sent")
    assert offline.requests == [] and len(session.ledger) == 1


def test_an_interrupt_while_the_job_runs_returns_at_once_with_the_job_id_kept(nb, session, offline):
    offline.state.part(Videos).stage_seconds = 60  # a job that would take three minutes
    following = lambda: any(r.method == "GET" for r in video_requests(offline))  # noqa: E731
    try:
        with interrupt_when(following, settle=0.1):
            ran = nb.run("%%video --seconds 8\nA very slow sunset")
    finally:
        offline.state.part(Videos).stage_seconds = Videos().stage_seconds
    assert isinstance(ran.error, KeyboardInterrupt)
    [job_id] = {r.path.split("/")[3] for r in video_requests(offline)[1:]}  # /v1/videos/{id}
    line = one_line(ran, f"stopped following video job {job_id} (queued, 0%)", f"download_content('{job_id}')")
    assert "≈$0.80 is in the ledger" in line
    [record] = session.ledger.records  # the job runs on and will be billed: its seconds, by estimate
    assert record.interrupted and record.estimated and record.cost == Decimal("0.8")
    assert not any(r.path.endswith("/content") for r in video_requests(offline))


@pytest.mark.parametrize("cell, fragment", [
    ("%%video\n   ", "Nothing to send: the cell is empty."),
    ("%%video -m sora-3\nA fox", "-m sora-3: not a video model; video models are sora-2 or sora-2-pro."),
    ("%%video --size 1792x1024\nA fox", "--size 1792x1024: sora-2 makes 720x1280 or 1280x720."),
    ("%%video --size 640x480 -m sora-2-pro\nA fox", "--size 640x480: sora-2-pro makes 720x1280, 1280x720, 1024x1792 or 1792x1024."),
    ("%%video --seconds 5\nA fox", "--seconds 5: sora-2 makes 4, 8 or 12 seconds."),
    ("%%video --image missing.png\nA fox", "--image missing.png: no such file, URL or variable."),
    ("%%video --image wide\nA fox", "--image wide is 1280x720; the first frame must be the size of the video (720x1280)"),
    ("%%video --remix video_1 --seconds 8\nA fox", "--remix keeps the length, size and model of the video remixed"),
    ("%%video --remix 'no such id'\nA fox", "--remix no such id: not a video id"),
])
def test_bad_input_is_one_line_and_nothing_is_sent(nb, session, offline, cell, fragment):
    nb.ns["wide"] = Image.new("RGB", (1280, 720))
    one_line(nb.run(cell), fragment)
    assert not video_requests(offline) and not session.ledger.records


def test_content_that_is_not_an_mp4_is_one_line_and_the_paid_job_stays_in_the_ledger(nb, session, offline):
    offline.answer_not_json(path="/content")
    ran = nb.run("%%video -o clip\nA fox")
    one_line(ran, "The server's content for video video_", "is not an MP4 file; nothing was kept.")
    [record] = session.ledger.records  # the job completed: it is paid for, whatever its download gave
    assert record.cost == Decimal("0.4") and "clip" not in nb.ns


def test_a_failed_job_is_one_line_with_its_reason_and_nothing_in_the_ledger(nb, session, offline):
    ran = nb.run("%%video -o clip\nA storm at sea (offline: fail)")
    line = one_line(ran, "failed: The video could not be generated (offline: fail).", "none is in the ledger")
    assert "video_offline" in line and not session.ledger.records and "clip" not in nb.ns
    assert not any(r.path.endswith("/content") for r in video_requests(offline))


def test_replay_plays_videos_only_from_the_file(nb, session, offline, replayed):
    again, missing = replayed("%%video -o {out}\nA plum falls from a tree", "%%video\nA peach falls from a tree")
    assert nb.ns["replayed"].bytes == nb.ns["first"].bytes and nb.ns["replayed"].cache_hit
    assert player_bytes(again.outputs[-1]["text/html"]) == nb.ns["first"].bytes
    one_line(missing, "Not in the replay cache", "“A peach falls from a tree”", "Nothing was sent")
    assert not video_requests(offline)


def test_seconds_may_be_given_as_the_api_spells_them(session, offline):
    clip = openai_magics.video("A quick wave", seconds="8", cache=False)
    assert clip.seconds == 8 and video_requests(offline)[0].body["seconds"] == "8"


def test_h_shows_the_options_and_sends_nothing(nb, session, offline):
    ran = nb.run("%%video -h\nA fox")
    assert ran.error is None and "--seconds SECONDS" in ran.stdout and "--remix ID" in ran.stdout
    assert not video_requests(offline) and not session.ledger.records
