"""%%image over real HTTP to the offline server: generations, edits with a mask, partial images, the
gallery, costs in the ledger, the cache, and bad input refused before anything is sent."""
import io
import math
from decimal import Decimal

import numpy as np
import pytest
from PIL import Image

import openai_magics
from openai_magics.metering.pricing import extra_prices


def image_requests(offline):
    return [r for r in offline.requests if "/images/" in r.path]


def one_line_error(ran, *fragments):
    assert ran.error is not None
    assert "Traceback" not in ran.stderr + ran.stdout
    assert len(ran.stderr.strip().splitlines()) == 1, ran.stderr
    for fragment in fragments:
        assert fragment in ran.stderr, ran.stderr


def png(size, mode="RGB", colour="navy") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def test_n_3_gives_three_images_of_the_size_asked_and_save_writes_three_files(nb, offline, tmp_path):
    ran = nb.run(f"%%image -m gpt-image-1 -n 3 --size 1536x1024 --quality low --save {tmp_path} -o pics\n"
                 "A lighthouse on a cliff at dawn")
    pics = nb.ns["pics"]
    assert len(pics) == 3 and [p.size for p in pics.pil] == [(1536, 1024)] * 3
    assert all(isinstance(b, bytes) and b.startswith(b"\x89PNG") for b in pics.bytes)
    files = sorted(tmp_path.iterdir())
    assert [f.name for f in files] == [f"a-lighthouse-on-a-cliff-at-1.png", "a-lighthouse-on-a-cliff-at-2.png",
                                       "a-lighthouse-on-a-cliff-at-3.png"]
    assert [f.read_bytes() for f in files] == pics.bytes
    [sent] = image_requests(offline)
    assert sent.path == "/v1/images/generations" and sent.body["n"] == 3 and "stream" not in sent.body
    html = ran.outputs[-1]["text/html"]
    assert html.count("<img ") == 3 and html.count('src="data:image/png;base64,') == 3
    assert "1536x1024 · low" in html and "&#36;" in html and "$" not in html.replace("&#36;", "")


def test_dall_e_3_hd_costs_what_the_price_table_says_with_its_revised_prompt(nb, session, offline):
    ran = nb.run("%%image -m dall-e-3 --size 1792x1024 --quality hd --style natural -o wide\nA fox in the snow")
    wide = nb.ns["wide"]
    [record] = session.ledger.records
    by_hand = Decimal(str(extra_prices()["per_image"]["dall-e-3"]["hd"]["1792x1024"]))  # $0.12 an image
    assert record.cost == by_hand and record.usage.images == 1 and record.magic == "image"
    assert wide[0].revised_prompt and "fox in the snow" in wide[0].revised_prompt
    assert wide.pil[0].size == (1792, 1024)
    [sent] = image_requests(offline)
    assert sent.body["response_format"] == "b64_json" and sent.body["style"] == "natural"
    html = ran.outputs[-1]["text/html"]
    assert "revised prompt: A detailed, vivid illustration: A fox in the snow." in html and "1792x1024 · hd · &#36;0.12 each" in html


def test_gpt_image_1_costs_its_token_usage_as_genai_prices_computes(nb, session, offline):
    from genai_prices import Usage as PricedUsage, calc_price

    nb.run("%%image -m gpt-image-1 --quality medium -o one\nA red bicycle")
    [record] = session.ledger.records
    usage = record.usage
    # A live cell asks for 2 partial images, 100 image tokens each, on top of the 1,056 of a medium square.
    assert usage.images == 1 and usage.output_tokens == 1256 and usage.output_image_tokens == 1256
    priced = calc_price(PricedUsage(input_tokens=usage.input_tokens, input_image_tokens=usage.input_image_tokens,
                                    output_tokens=usage.output_tokens, output_image_tokens=usage.output_image_tokens),
                        "gpt-image-1", provider_id="openai")
    assert usage.input_image_tokens == 0  # $5 per million text tokens in, $40 per million out
    assert record.cost == priced.total_price == Decimal(usage.input_tokens) * 5 / 10**6 + Decimal(1256) * 40 / 10**6
    assert not record.estimated


def test_a_repeat_is_a_cache_hit_at_zero_that_shows_the_same_images(nb, session, offline, tmp_path):
    nb.run(f"%openai cache on {tmp_path / 'c.db'}")
    first = nb.run("%%image -m dall-e-2 --size 256x256 -n 2 -o a\nTwo pears")
    second = nb.run("%%image -m dall-e-2 --size 256x256 -n 2 -o b\nTwo pears")
    assert len(image_requests(offline)) == 1
    assert nb.ns["a"].bytes == nb.ns["b"].bytes and nb.ns["b"].cache_hit
    paid, hit = session.ledger.records
    assert paid.cost == Decimal("0.032") and hit.cache_hit and hit.cost == 0 and hit.saved == Decimal("0.032")
    assert "$0 (cached)" in second.outputs[-1]["text/html"].replace("&#36;", "$")
    assert first.outputs[-1]["text/html"].count("<img ") == 2


def test_edit_inputs_are_part_of_the_cache_key_by_content(nb, session, offline, tmp_path):
    nb.run(f"%openai cache on {tmp_path / 'c.db'}")
    nb.ns["red"], nb.ns["blue"] = Image.new("RGB", (256, 256), "red"), Image.new("RGB", (256, 256), "blue")
    (tmp_path / "red.png").write_bytes(png((256, 256), colour="red"))
    for source in ("red", "blue", str(tmp_path / "red.png"), "blue"):
        ran = nb.run(f"%%image -m dall-e-2 --size 256x256 --edit {source}\nMake it glow")
        assert ran.error is None, ran.stderr
    # red (a PIL image) and red.png (its PNG on disk) are the same bytes once encoded: one request each colour
    assert [r.path for r in image_requests(offline)] == ["/v1/images/edits"] * 2
    assert [r.cache_hit for r in session.ledger.records] == [False, False, True, True]


def test_replay_shows_images_only_from_the_file(nb, session, offline, replayed):
    again, missing = replayed("%%image -m dall-e-2 --size 256x256 -o {out}\nA plum",
                              "%%image -m dall-e-2 --size 256x256\nA peach")
    assert nb.ns["replayed"].bytes == nb.ns["first"].bytes and again.outputs[-1]["text/html"].count("<img ") == 1
    one_line_error(missing, "Not in the replay cache", "“A peach”", "Nothing was sent")
    assert not image_requests(offline)


def test_an_edit_with_a_mask_is_a_multipart_request_the_server_validates(nb, session, offline):
    nb.ns["photo"] = Image.new("RGB", (512, 512), "teal")
    mask = np.zeros((512, 512, 4), dtype=np.uint8)  # fully transparent: edit everywhere
    nb.ns["hole"] = mask
    ran = nb.run("%%image -m gpt-image-1 --edit photo --mask hole -o edited\nAdd a yellow sun")
    assert ran.error is None, ran.stderr
    [sent] = image_requests(offline)
    assert sent.path == "/v1/images/edits" and sent.status == 200
    assert sent.body["prompt"] == "Add a yellow sun" and sent.body["model"] == "gpt-image-1"
    [upload] = sent.files["image"]
    assert Image.open(io.BytesIO(upload.data)).size == (512, 512)
    assert Image.open(io.BytesIO(sent.files["mask"].data)).mode == "RGBA"
    [record] = session.ledger.records
    assert record.usage.input_image_tokens > 0 and record.cost > 0
    assert nb.ns["edited"].pil[0].size == (1024, 1024)


def test_a_streamed_generation_shows_partial_images_before_the_final_one(session, offline):
    class Recording:
        def __init__(self):
            self.events = []

        def start(self, request):
            self.events.append("start")

        def partial(self, data, index):
            self.events.append(("partial", index, Image.open(io.BytesIO(data)).size, data))

        def finish(self, ok):
            self.events.append(("finish", ok))

    view = Recording()
    result = openai_magics.image("A paper boat", model="gpt-image-1", size="1024x1536", quality="high",
                                 partial_images=2, view=view)
    partials = [e for e in view.events if e[0] == "partial"]
    assert [p[1] for p in partials] == [0, 1] and all(p[2] == (1024, 1536) for p in partials)
    assert view.events[-1] == ("finish", True)
    assert result.pil[0].size == (1024, 1536) and result.bytes[0] not in [p[3] for p in partials]
    [sent] = image_requests(offline)
    assert sent.body["stream"] is True and sent.body["partial_images"] == 2
    [record] = session.ledger.records  # each partial image costs 100 image tokens more
    assert record.usage.output_tokens == 6240 + 2 * 100 and record.first_token is not None


def test_an_interrupted_stream_keeps_what_it_used_in_the_ledger(session, offline):
    class StopAtFirst:
        def start(self, request): ...

        def partial(self, data, index):
            raise KeyboardInterrupt  # the user pressed stop while the first partial image showed

        def finish(self, ok): ...

    with pytest.raises(KeyboardInterrupt):
        openai_magics.image("A slow drawing", model="gpt-image-1", partial_images=3, view=StopAtFirst())
    [record] = session.ledger.records
    assert record.interrupted and record.estimated and record.usage.output_image_tokens == 100 and record.cost > 0


def test_a_live_cell_shows_a_widget_that_the_saved_notebook_does_not_keep(nb, offline):
    ran = nb.run("%%image -m gpt-image-1\nA kite")
    widget_outputs = [o for o in ran.outputs if "application/vnd.jupyter.widget-view+json" in o]
    assert widget_outputs and all(o["text/plain"] == "" for o in widget_outputs)
    [sent] = image_requests(offline)
    assert sent.body["partial_images"] == 2
    assert ran.outputs[-1]["text/html"].count("<img ") == 1


def test_dry_run_sends_nothing_and_bounds_the_cost(nb, session, offline):
    ran = nb.run("%%image -m gpt-image-1 -n 2 --quality high --dry-run\nA castle")
    assert not image_requests(offline) and not session.ledger.records
    text = ran.outputs[-1]["text/plain"]
    # No size given: bounded by the dearest high-quality size (6,240 image tokens each) and the prompt.
    assert "POST /images/generations" in text and "worst case $0.50" in text


def test_a_budget_refuses_images_whose_worst_case_is_over_it(nb, session, offline):
    nb.run("%openai budget 0.10")
    ran = nb.run("%%image -m dall-e-3 --quality hd --size 1024x1792\nA tall tower")
    one_line_error(ran, "Refused before sending", "1 × 1024x1792 hd image on dall-e-3", "$0.12")
    assert not image_requests(offline) and not session.ledger.records


@pytest.mark.parametrize("line, fragment", [
    ("-m dall-e-3 --size 999x999", "--size 999x999: dall-e-3 takes 1024x1024, 1792x1024 or 1024x1792."),
    ("-m gpt-image-1 -n 0", "-n 0: gpt-image-1 makes 1 to 10."),
    ("-m dall-e-3 -n 2", "-n 2: dall-e-3 makes exactly 1 image per request (-n 1)."),
    ("-m dall-e-2 --quality hd", "--quality hd: dall-e-2 takes standard."),
    ("-m gpt-image-1 --style vivid", "--style vivid: gpt-image-1 takes no --style (dall-e-3 do)."),
    ("-m dall-e-3 --edit x.png", "--edit: dall-e-3 does not edit images"),
    ("-m gpt-image-1 --edit no-such-file.png", "--edit no-such-file.png: no such file, URL or variable."),
    ("-m gpt-image-1 --edit notes.txt", "--edit notes.txt: not an image file PIL can read"),
    ("-m gpt-image-1 --edit big --mask small", "--mask small is 256×256; the image to edit (big) is 512×512"),
    ("-m gpt-image-1 --edit big --mask opaque", "--mask opaque: a mask marks with transparency"),
    ("-m gpt-image-1 --format jpeg --background transparent", "--background transparent needs --format png"),
    ("-m sdxl", "-m sdxl: not an image model"),
])
def test_bad_input_is_one_clear_line_and_nothing_is_sent_or_charged(nb, session, offline, tmp_path, monkeypatch,
                                                                    line, fragment):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("not a picture")
    (tmp_path / "x.png").write_bytes(png((64, 64)))
    nb.ns["big"] = Image.new("RGB", (512, 512))
    nb.ns["small"] = png((256, 256), "RGBA", (0, 0, 0, 0))
    nb.ns["opaque"] = png((512, 512))
    ran = nb.run(f"%%image {line}\nA cat")
    one_line_error(ran, fragment)
    assert not image_requests(offline) and not session.ledger.records


def test_the_offline_server_draws_the_same_image_for_the_same_prompt(session, offline):
    a = openai_magics.image("Same prompt", model="dall-e-2", size="512x512", cache=False)
    b = openai_magics.image("Same prompt", model="dall-e-2", size="512x512", cache=False)
    c = openai_magics.image("Another prompt", model="dall-e-2", size="512x512", cache=False)
    assert a.bytes == b.bytes != c.bytes


@pytest.mark.parametrize("fmt, magic", [("jpeg", b"\xff\xd8"), ("webp", b"RIFF")])
def test_formats_come_back_as_asked(session, offline, fmt, magic):
    result = openai_magics.image("A pebble", model="gpt-image-1", format=fmt, compression=60, quality="low")
    assert result.bytes[0].startswith(magic) and result[0].format == fmt.upper()


def test_the_saved_notebook_shows_its_images_without_a_kernel():
    """What nbviewer or GitHub does: render the saved notebook's HTML, no kernel, no widget state."""
    from html.parser import HTMLParser

    from nbconvert import HTMLExporter

    from conftest import ROOT

    body, _ = HTMLExporter().from_filename(str(ROOT / "notebooks" / "06_images.ipynb"))

    class Images(HTMLParser):
        found: list = []

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "img" and attrs.get("src", "").startswith("data:image/"):
                self.found.append(attrs)

    parser = Images()
    parser.found = []
    parser.feed(body)
    shown = [Image.open(io.BytesIO(__import__("base64").b64decode(a["src"].split(",", 1)[1]))) for a in parser.found]
    assert len(shown) == 3 + 1 + 1 + 2 + 2 + 1  # boats, lighthouse, balloon, pears twice, pebble
    assert [im.size for im in shown[:3]] == [(1536, 1024)] * 3 and shown[3].size == (1792, 1024)
    assert "1536x1024 · low · $0.016 each" in body and "revised prompt: A detailed" in body


def test_images_answered_as_links_are_fetched_kept_cached_and_recorded(nb, session, offline, tmp_path):
    """A proxy that ignores response_format answers with `url`: the images are fetched, shown, kept, cached as
    images (not links) and the call is in the ledger."""
    offline.quirks = {"images_as_url"}
    nb.run(f"%openai cache on {tmp_path / 'c.sqlite'}")
    ran = nb.run("%%image -m dall-e-2 --size 256x256 -n 2 -o pics\nA lighthouse")
    assert ran.error is None, ran.stderr
    [sent] = image_requests(offline)
    assert sent.body["response_format"] == "b64_json"  # asked for base64, answered with links
    pics = nb.ns["pics"]
    assert [p.size for p in pics.pil] == [(256, 256)] * 2 and "<img" in ran.outputs[-1]["text/html"]
    [record] = session.ledger.records
    assert record.usage.images == 2 and record.cost > 0 and record.magic == "image"
    again = nb.run("%%image -m dall-e-2 --size 256x256 -n 2 -o again\nA lighthouse")
    assert again.error is None and len(image_requests(offline)) == 1
    assert [p.data for p in nb.ns["again"]] == [p.data for p in pics] and session.ledger.records[-1].cache_hit


def test_links_that_cannot_be_fetched_are_shown_and_the_call_still_recorded(nb, session, offline):
    offline.quirks = {"images_as_dead_links"}
    ran = nb.run("%%image -m dall-e-2 --size 256x256\nA lighthouse")
    assert "Traceback" not in ran.stdout + ran.stderr
    [line] = [l for l in ran.stdout.splitlines() if l.strip()]
    assert "links instead of images" in line and "http://127.0.0.1:9/offline-expired/img-0.png" in line
    [record] = session.ledger.records
    assert record.usage.images == 1 and record.cost > 0
