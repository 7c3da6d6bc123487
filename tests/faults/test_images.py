"""Image input from a notebook: pixels that would wrap or clip, and empty images, are one line and send nothing;
pixels that fit arrive as they were."""
from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from tests.faults.checks import one_line

REFUSED = {
    "int64-over-255": (lambda: np.array([[0, 300], [40, 10]], dtype=np.int64), "from 0 to 300"),
    "int64-negative": (lambda: np.array([[-5, 3], [40, 10]], dtype=np.int64), "from -5 to 40"),
    "uint16": (lambda: np.full((4, 4), 65535, dtype=np.uint16), "uint16 pixels"),
    "float-0-255": (lambda: np.full((4, 4, 3), 200.0), "in 0–1 (or divide by 255)"),
    "float-nan": (lambda: np.array([[0.5, np.nan]]), "would wrap or clip"),
    "complex": (lambda: np.ones((4, 4), dtype=complex), "dtype complex128"),
    "0x0-array": (lambda: np.zeros((0, 0), dtype=np.uint8), "0×0 pixels"),
    "0x3-rgb-array": (lambda: np.zeros((0, 3, 3), dtype=np.uint8), "3×0 pixels"),
    "0x0-pil": (lambda: Image.new("RGB", (0, 0)), "0×0 pixels"),
}
LINES = {"chat": "%chat --no-stream --image img What is this?",
         "responses": "%chat --api responses --image img What is this?",
         "image-edit": "%%image -m gpt-image-1 --edit img\nAdd a hat"}


@pytest.mark.parametrize("line", list(LINES.values()), ids=list(LINES))
@pytest.mark.parametrize("source", list(REFUSED))
def test_pixels_that_would_be_mangled_and_empty_images_are_one_line(nb, offline, session, source, line):
    make, says = REFUSED[source]
    nb.ns["img"] = make()
    one_line(nb.run(line), "img", says)
    assert not offline.requests and not session.ledger.records


def _sent_pixels(offline) -> np.ndarray:
    content = offline.requests[-1].body["messages"][-1]["content"]
    url = next(p["image_url"]["url"] for p in content if p["type"] == "image_url")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint16, np.uint8])
def test_integer_pixels_that_fit_arrive_unchanged(nb, offline, dtype):
    pixels = np.array([[0, 17, 255], [128, 3, 90]], dtype=dtype)
    nb.ns["img"] = pixels
    assert nb.run("%chat --no-stream --image img What is this?").error is None
    assert np.array_equal(_sent_pixels(offline), pixels.astype(np.uint8))


def test_a_one_row_image_with_one_channel_stays_an_image(nb, offline):
    nb.ns["img"] = np.arange(6, dtype=np.uint8).reshape(1, 6, 1) * 40
    assert nb.run("%chat --no-stream --image img What is this?").error is None
    assert _sent_pixels(offline).shape == (1, 6)
