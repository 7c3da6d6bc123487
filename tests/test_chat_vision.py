"""%%chat --image: every source kind, clear refusals of bad ones, image tokens (issue 5)."""
import base64
import io

import pytest

from test_chat_structured import all_valid

from openai_magics.chat.vision import image_tokens

SETUP = '''
import io, pathlib
import numpy as np
from PIL import Image

pil = Image.new("RGB", (640, 480), (30, 120, 200))
gray = np.linspace(0, 1, 64 * 32).reshape(32, 64)        # floats in 0..1
rgb = np.zeros((40, 30, 3), dtype=np.uint8)
buffer = io.BytesIO(); pil.save(buffer, format="JPEG"); jpeg = buffer.getvalue()
png_path = pathlib.Path(folder) / "photo.png"; pil.save(png_path)
bmp_path = pathlib.Path(folder) / "scan.bmp"; pil.save(bmp_path)
text_path = pathlib.Path(folder) / "notes.txt"; text_path.write_text("not an image")
'''


@pytest.fixture
def pics(nb, tmp_path):
    nb.ns["folder"] = str(tmp_path)
    nb.run(SETUP)
    return nb


def image_parts(offline):
    content = offline.requests[-1].body["messages"][-1]["content"]
    return [p["image_url"] for p in content if p["type"] == "image_url"]


def size_of(url: str):
    from PIL import Image

    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).size


@pytest.mark.parametrize("source, media, size", [
    ("pil", "image/png", (640, 480)),
    ("gray", "image/png", (64, 32)),
    ("rgb", "image/png", (30, 40)),
    ("jpeg", "image/jpeg", (640, 480)),          # bytes keep their format
    ("png_path", "image/png", (640, 480)),       # a Path
    ("{folder}/photo.png", "image/png", (640, 480)),   # a path as text
    ("bmp_path", "image/png", (640, 480)),       # a format OpenAI does not take is converted
])
def test_each_local_source_kind_is_sent_as_a_data_url(pics, offline, source, media, size):
    source = source.format(folder=pics.ns["folder"])
    ran = pics.run(f"%%chat --no-stream --image {source}\nWhat is in this picture?")
    assert ran.error is None, ran.stderr
    (part,) = image_parts(offline)
    assert part["url"].startswith(f"data:{media};base64,") and size_of(part["url"]) == size
    assert all_valid(offline)  # the body passed the OpenAPI validation


def test_a_matplotlib_figure_is_accepted(pics, offline):
    pytest.importorskip("matplotlib")
    pics.run("import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
             "fig, ax = plt.subplots(figsize=(4, 3), dpi=100); ax.plot([1, 3, 2]); plt.close(fig)")
    ran = pics.run("%%chat --no-stream --image fig\nDescribe the chart")
    assert ran.error is None
    assert size_of(image_parts(offline)[0]["url"]) == (400, 300) and all_valid(offline)


def test_urls_go_as_they_are_and_several_images_with_detail(pics, offline):
    ran = pics.run("%%chat --no-stream --image https://example.com/cat.png --image pil --detail low\nCompare")
    assert ran.error is None
    first, second = image_parts(offline)
    assert first == {"url": "https://example.com/cat.png", "detail": "low"}
    assert second["detail"] == "low" and second["url"].startswith("data:image/png")
    assert offline.requests[-1].body["messages"][-1]["content"][0] == {"type": "text", "text": "Compare"}


@pytest.mark.parametrize("line, says", [
    ("--image missing.png", "--image missing.png: no such file, URL or variable."),
    ("--image nothing_here", "--image nothing_here: no such file, URL or variable."),
    ("--image text_path", "--image text_path: not an image file PIL can read"),
    ("--image folder_list", "--image folder_list: a list is not an image source"),
    ("--image bad_array", "--image bad_array: an array of shape (2, 3, 7) is not an image"),
    ("--detail high", "--detail goes with --image"),
])
def test_bad_images_are_one_clear_line_and_nothing_is_sent(pics, offline, line, says):
    pics.run("folder_list = [1, 2]\nbad_array = np.zeros((2, 3, 7))")
    ran = pics.run(f"%%chat {line}\nWhat is this?")
    assert "UsageError" in ran.stderr and says in ran.stderr, ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1 and "Traceback" not in ran.stderr
    assert offline.requests == []


def test_tile_formula_matches_openais_worked_examples():
    assert image_tokens(1024, 1024, "high", "gpt-4o").tokens == 765
    assert image_tokens(2048, 4096, "high", "gpt-4o").tokens == 1105
    assert image_tokens(4096, 8192, "low", "gpt-4o").tokens == 85
    assert image_tokens(1024, 1024, "high", "gpt-4o-mini").tokens == 2833 + 4 * 5667
    unknown = image_tokens(None, None, "auto", "gpt-4o")
    assert not unknown.exact and unknown.tokens == 85 + 170 * 8  # a URL: the largest an image can cost


def test_dry_run_counts_image_tokens_and_the_server_charges_the_same(pics, offline, session):
    plan = pics.run("%%chat --dry-run -m gpt-4o --image pil --detail high\nWhat colour?").result
    assert offline.requests == []
    text_only = pics.run("%%chat --dry-run -m gpt-4o\nWhat colour?").result
    assert plan.input_tokens.tokens - text_only.input_tokens.tokens == 85 + 170 * 2  # 640×480 → 2×1 tiles
    assert "data:image/png;base64," in plan.shown_body() and "chars)" in plan.shown_body()
    ran = pics.run("%%chat -m gpt-4o --image pil --detail high\nWhat colour?")
    record = session.ledger.records[-1]
    assert record.usage.input_tokens == plan.input_tokens.tokens and record.usage.images == 1
    assert f"{plan.input_tokens.tokens:,} in" in ran.outputs[-1]["text/markdown"] and "1 image" in ran.result.usage_line


def test_an_image_is_encoded_once_and_resent_unchanged_in_every_round(pics, offline):
    pics.run("def shade(name: str) -> str:\n    '''A colour's hex code.'''\n    return '#1e78c8'")
    pics.run("%%chat --tools shade --image pil\nWhich shade is this?")
    first, second = (r.body["messages"][0]["content"][1] for r in offline.requests)
    assert first == second and all_valid(offline)


def test_a_corrupt_data_url_is_refused_by_the_server_like_the_api(pics, offline):
    pics.ns["broken"] = "data:image/png;base64,iVBORw0KGgoAAAA"
    ran = pics.run("%%chat --image broken\nWhat is this?")
    assert "UsageError" in ran.stderr and "does not hold an image" in ran.stderr and offline.requests == []


def test_the_budget_counts_image_tokens_before_sending(pics, offline):
    pics.run("%openai budget 0.01")
    try:
        # 2×1 tiles on gpt-4o: ≈434 tokens in + 300 out is $0.0041; eight such images (≈3,400 in) would pass $0.01
        assert pics.run("%%chat -m gpt-4o --no-stream --max-tokens 300 --image pil --detail high\nColour?").error is None
        many = " ".join(["--image pil"] * 8)
        ran = pics.run(f"%%chat -m gpt-4o --no-stream --max-tokens 300 {many} --detail high\nColours?")
        assert "Refused before sending" in ran.stderr and "3," in ran.stderr
        assert len(offline.requests) == 1
    finally:
        pics.run("%openai budget off")
