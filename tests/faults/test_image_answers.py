"""%%image and %%speak when a later step fails: an answer whose images cannot be read is still in the ledger,
a stream that ends without its completed image keeps what it cost, a result that cannot be saved is still bound
to -o; and inputs that cannot work (a decompression bomb, an upload over the model's limit) send nothing."""
from __future__ import annotations

import base64
import io
import json
import struct
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

from tests.faults.checks import no_key, one_line
from tests.faults.rogue import Answer, json_answer

USAGE = {"input_tokens": 12, "output_tokens": 272, "total_tokens": 284,
         "input_tokens_details": {"text_tokens": 12, "image_tokens": 0}}


def png(size=(8, 8), colour="navy") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def images_answer(*b64s: str, usage=USAGE) -> Answer:
    return json_answer({"created": 1, "data": [{"b64_json": b} for b in b64s], "usage": usage,
                        "size": "1024x1024", "quality": "low"})


def at_rogue(nb, rogue):
    assert nb.run(f"%openai endpoint {rogue.base_url}").error is None


UNREADABLE = {
    "not-base64": "!!! this is not base64 !!!",
    "base64-of-text": b64(b"<html>upstream error</html>"),
    "base64-of-a-truncated-png": b64(png()[:40]),
}


@pytest.mark.parametrize("answer", list(UNREADABLE))
def test_an_answer_whose_image_cannot_be_read_is_one_line_and_in_the_ledger(nb, rogue, fast, session, answer):
    at_rogue(nb, rogue)
    session.configure(bills="openai")
    rogue.script(images_answer(UNREADABLE[answer]))
    one_line(nb.run("%%image -m gpt-image-1 --quality low --partial 0 -o pic\nA red fox"), "ledger")
    [record] = session.ledger.records
    assert record.usage.output_tokens == 272 and record.cost > 0 and not record.estimated
    assert record.unreadable  # marked: paid, nothing usable came of it
    assert "pic" not in nb.ns


def test_the_usage_table_marks_a_paid_answer_that_could_not_be_read(nb, rogue, fast, session):
    at_rogue(nb, rogue)
    session.configure(bills="openai")
    rogue.script(images_answer(UNREADABLE["not-base64"]), images_answer(b64(png())))
    one_line(nb.run("%%image -m gpt-image-1 --quality low --partial 0\nA red fox"), "ledger")
    assert nb.run("%%image -m gpt-image-1 --quality low --partial 0\nA red fox").error is None
    table = nb.run("%openai usage").result
    assert [row["unreadable"] for row in table.rows] == [1, 0]
    shown = table._repr_html_()
    assert ">answer</th>" in shown and shown.count(">unreadable</td>") == 1
    assert "2 calls" in table.summary() and "1 paid answer unreadable" in table.summary()
    assert session.ledger.to_pandas()["unreadable"].tolist() == [True, False]


def test_an_unreadable_answer_is_not_cached(nb, rogue, fast, session):
    at_rogue(nb, rogue)
    rogue.script(images_answer(UNREADABLE["not-base64"]), images_answer(b64(png())))
    one_line(nb.run("%%image -m gpt-image-1 --quality low --partial 0\nA red fox"))
    again = nb.run("%%image -m gpt-image-1 --quality low --partial 0 -o pic\nA red fox")
    assert again.error is None and len(nb.ns["pic"]) == 1 and len(rogue.seen) == 2


def _partial(index: int) -> bytes:
    return json.dumps({"type": "image_generation.partial_image", "b64_json": b64(png()), "created_at": 1,
                       "partial_image_index": index, "size": "1024x1024", "quality": "low"}).encode()


@pytest.mark.parametrize("partials", [1, 2])
def test_a_partial_image_stream_without_its_completed_image_keeps_its_cost(nb, rogue, fast, session, partials):
    at_rogue(nb, rogue)
    rogue.script(Answer(events=[_partial(i) for i in range(partials)]))
    line = one_line(nb.run("%%image -m gpt-image-1 --quality low --partial 2\nA red fox"),
                    "without its completed image", f"after {partials} partial image")
    assert rogue.seen[0].body["stream"] is True
    [record] = session.ledger.records
    assert record.estimated and record.usage.output_tokens > 0 and "ledger" in line
    assert record.unreadable  # the previews came, the image paid for did not


def test_a_partial_image_that_is_not_base64_does_not_lose_the_completed_one(nb, rogue, fast, session):
    at_rogue(nb, rogue)
    broken = json.dumps({"type": "image_generation.partial_image", "b64_json": "%%%", "partial_image_index": 0})
    done = json.dumps({"type": "image_generation.completed", "b64_json": b64(png()), "created_at": 1,
                       "usage": USAGE, "size": "1024x1024", "quality": "low"})
    rogue.script(Answer(events=[broken.encode(), done.encode()]))
    ran = nb.run("%%image -m gpt-image-1 --quality low --partial 1 -o pic\nA red fox")
    assert ran.error is None and len(nb.ns["pic"]) == 1 and len(session.ledger.records) == 1


def test_three_images_asked_and_one_sent_says_so(nb, rogue, fast, session):
    at_rogue(nb, rogue)
    rogue.script(images_answer(b64(png())))
    ran = nb.run("%%image -m gpt-image-1 --quality low -n 3 -o pics\nA red fox")
    assert ran.error is None and len(nb.ns["pics"]) == 1
    assert "1 image (3 asked: the server sent 1)" in ran.text
    assert session.ledger.records[0].usage.images == 1


def _unwritable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    return blocker / "images"  # a folder inside a file: no one, root included, can make it


def test_image_save_to_an_unwritable_folder_keeps_the_images_in_o(nb, offline, session, tmp_path):
    ran = nb.run(f"%%image -m gpt-image-1 --quality low --save {_unwritable(tmp_path)} -o pic\nA red fox")
    assert ran.error is None and len(nb.ns["pic"]) == 1 and ran.result is nb.ns["pic"]
    [line] = [line for line in ran.stderr.splitlines() if line.strip()]
    assert line.startswith("Not saved to") and "kept in `pic`" in line and "Traceback" not in ran.text
    assert len(session.ledger.records) == 1


def test_image_save_failing_without_o_keeps_the_images_as_the_result(nb, offline, tmp_path):
    ran = nb.run(f"%%image -m gpt-image-1 --quality low --save {_unwritable(tmp_path)}\nA red fox")
    assert ran.error is None and len(ran.result) == 1 and "kept in the result (`_`)" in ran.stderr


def test_speak_save_to_an_unwritable_path_keeps_the_audio_in_o(nb, offline, session, tmp_path):
    ran = nb.run(f"%%speak --save {_unwritable(tmp_path)}/hello.mp3 -o said\nHello there.")
    assert ran.error is None and bytes(nb.ns["said"])
    assert "Not saved to" in ran.stderr and "kept in `said`" in ran.stderr and "Traceback" not in ran.text
    assert len(session.ledger.records) == 1


def bomb_png(width=20_000, height=20_000) -> bytes:
    """A PNG whose header claims width × height pixels (PIL refuses it on opening, before decoding)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.mark.parametrize("line", ["%%image -m gpt-image-1 --edit big\nAdd a hat", "%chat --no-stream --image big What?",
                                  "%%image -m dall-e-2 --edit big\nAdd a hat"], ids=["edit", "chat", "dall-e-2"])
@pytest.mark.parametrize("source", ["bytes", "file"])
def test_a_decompression_bomb_png_is_one_line_and_nothing_is_sent(nb, offline, session, tmp_path, line, source):
    data = bomb_png()
    if source == "file":
        (tmp_path / "big.png").write_bytes(data)
        line = line.replace(" big", f" {tmp_path / 'big.png'}")
    else:
        nb.ns["big"] = data
    one_line(nb.run(line), "pixels", "scale it down")
    assert not offline.requests and not session.ledger.records


def test_a_dall_e_2_edit_over_4_mb_is_refused_before_upload(nb, offline, session):
    noise = np.random.default_rng(1).integers(0, 256, (1500, 1500, 4), dtype=np.uint8)  # does not compress
    nb.ns["big"] = Image.fromarray(noise, "RGBA")
    line = one_line(nb.run("%%image -m dall-e-2 --edit big\nAdd a hat"), "dall-e-2", "at most 4 MB",
                    "nothing was sent")
    assert " MB to upload" in line and not offline.requests and not session.ledger.records


def test_a_dall_e_2_mask_over_4_mb_is_refused_before_upload(nb, offline, session):
    nb.ns["small"] = Image.new("RGBA", (1500, 1500), (0, 0, 0, 0))
    noise = np.random.default_rng(2).integers(0, 256, (1500, 1500, 4), dtype=np.uint8)
    nb.ns["mask"] = Image.fromarray(noise, "RGBA")
    one_line(nb.run("%%image -m dall-e-2 --edit small --mask mask\nAdd a hat"), "--mask mask", "at most 4 MB")
    assert not offline.requests


def test_a_gpt_image_edit_of_the_same_5_mb_is_sent(nb, offline, session):
    noise = np.random.default_rng(1).integers(0, 256, (1200, 1200, 4), dtype=np.uint8)
    nb.ns["big"] = Image.fromarray(noise, "RGBA")
    assert nb.run("%%image -m gpt-image-1 --quality low --edit big\nAdd a hat").error is None
    assert offline.requests[-1].path == "/v1/images/edits"


@pytest.mark.parametrize("target", ["edit", "video first frame", "transcribe"])
def test_a_url_input_is_fetched_without_httpx_installed(nb, rogue, offline, session, monkeypatch, target):
    monkeypatch.setitem(sys.modules, "httpx", None)  # as where only the SDK's own HTTP client is installed
    if target == "edit":
        rogue.script(Answer(body=png((64, 64)), content_type="image/png"))
        url = rogue.base_url.removesuffix("/v1") + "/pic.png"
        ran = nb.run(f"%%image -m gpt-image-1 --quality low --edit {url} -o pic\nAdd a hat")
        assert ran.error is None and offline.requests[-1].path == "/v1/images/edits"
    elif target == "video first frame":
        rogue.script(Answer(body=png((1280, 720)), content_type="image/png"))
        url = rogue.base_url.removesuffix("/v1") + "/start.png"
        ran = nb.run(f"%%video --size 1280x720 --image {url} -o clip\nThe sea comes alive")
        assert ran.error is None and "input_reference" in offline.requests[0].files
    else:
        speech = nb.run("%%speak --format wav -o said\nHello there.")
        rogue.script(Answer(body=bytes(speech.result), content_type="audio/wav"))
        url = rogue.base_url.removesuffix("/v1") + "/hello.wav"
        ran = nb.run(f"%transcribe {url}")
        assert ran.error is None and offline.requests[-1].path == "/v1/audio/transcriptions"
    assert rogue.seen[0].method == "GET"


def test_a_url_that_answers_404_is_one_line(nb, rogue, offline):
    rogue.script(json_answer({"error": "gone"}, 404))
    url = rogue.base_url.removesuffix("/v1") + "/pic.png"
    one_line(nb.run(f"%%image -m gpt-image-1 --edit {url}\nAdd a hat"), "could not download it")
    assert not offline.requests
    no_key(str(rogue.seen[0].authorization))


@pytest.mark.parametrize("cell", ["%%image -m gpt-image-1 --quality low -q --save {path}\nA red fox",
                                  "%%speak -q --save {path}/hello.mp3\nHello there."], ids=["image", "speak"])
def test_a_failed_save_under_q_without_o_still_returns_the_paid_result(nb, offline, session, tmp_path, cell):
    ran = nb.run(cell.format(path=_unwritable(tmp_path)))
    assert ran.error is None and ran.result is not None and "kept in the result (`_`)" in ran.stderr
    assert len(session.ledger.records) == 1
