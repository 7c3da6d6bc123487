"""Image sources a notebook holds (a path, bytes, a PIL image, a numpy array, a matplotlib figure) read
into encoded bytes once, with their format and pixel size. Bad input is one clear UsageError."""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

from openai_magics.core.errors import UsageError

MEDIA_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
KINDS = "a path, URL, PIL image, numpy array, matplotlib figure, bytes or Path"


@dataclass(frozen=True)
class ImageBytes:
    data: bytes
    format: str      # PIL's name: PNG, JPEG, WEBP…
    width: int
    height: int

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES.get(self.format, "application/octet-stream")

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


def read_image(source, label: str, option: str = "--image", formats=tuple(MEDIA_TYPES)) -> ImageBytes:
    """Any local image source → its bytes in one of `formats` (others are converted to PNG)."""
    if isinstance(source, str):
        path = Path(source).expanduser()
        if not path.is_file():
            raise UsageError(f"{option} {label}: no such file, URL or variable.")
        source = path
    if isinstance(source, os.PathLike):
        path = Path(source)
        if not path.is_file():
            raise UsageError(f"{option} {label}: no such file ({path}).")
        return from_bytes(path.read_bytes(), label, option, formats)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return from_bytes(bytes(source), label, option, formats)
    module = type(source).__module__.split(".")[0]
    if module == "PIL" and hasattr(source, "save"):
        _check_size(*source.size, label, option)
        return png_of(source)
    if module == "numpy":
        return png_of(array_to_pil(source, label, option))
    if module == "matplotlib" and hasattr(source, "savefig"):
        buffer = io.BytesIO()
        source.savefig(buffer, format="png")
        return from_bytes(buffer.getvalue(), label, option, formats)
    raise UsageError(f"{option} {label}: a {type(source).__name__} is not an image source; give {KINDS}.")


def from_bytes(data: bytes, label: str, option: str = "--image", formats=tuple(MEDIA_TYPES)) -> ImageBytes:
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Image.DecompressionBombError:
        raise UsageError(f"{option} {label}: more than {2 * Image.MAX_IMAGE_PIXELS:,} pixels, far more than any "
                         "model takes (and too many to read safely); scale it down first.") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise UsageError(f"{option} {label}: not an image file PIL can read ({type(exc).__name__}).") from None
    if image.format not in formats:
        return png_of(image)
    return ImageBytes(data, image.format, *image.size)


def png_of(image) -> ImageBytes:
    """A PIL image encoded as PNG (modes PNG cannot hold are converted first)."""
    if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return ImageBytes(buffer.getvalue(), "PNG", *image.size)


def array_to_pil(array, label: str, option: str = "--image"):
    """Pixels as numpy holds them: uint8 as they are, other integers when they fit 0–255, floats in 0–1
    (matplotlib's convention), booleans as a mask. Anything else would wrap or clip without a word: refused."""
    import numpy as np
    from PIL import Image

    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise UsageError(f"{option} {label}: an array of shape {array.shape} is not an image "
                         "(height × width, with 1, 3 or 4 channels).")
    _check_size(array.shape[1], array.shape[0], label, option)
    if array.dtype.kind not in "buif":
        raise UsageError(f"{option} {label}: pixels of dtype {array.dtype} are not numbers an image holds.")
    if array.dtype.kind in "iuf" and array.dtype != np.uint8:
        low, high = array.min(), array.max()
        top = 1 if array.dtype.kind == "f" else 255
        if not (0 <= low and high <= top):  # NaN fails this too
            scale = "in 0–1 (or divide by 255)" if top == 1 else "in 0–255 (or as floats in 0–1)"
            raise UsageError(f"{option} {label}: {array.dtype} pixels from {low} to {high} would wrap or clip; "
                             f"give them {scale}.")
    if array.dtype.kind in "fb":
        array = array.astype(float) * 255
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    array = np.ascontiguousarray(array.astype(np.uint8))
    return Image.fromarray(array)


def _check_size(width: int, height: int, label: str, option: str) -> None:
    if not width or not height:
        raise UsageError(f"{option} {label}: an image of {width}×{height} pixels has nothing to show.")


def as_png(image: ImageBytes) -> ImageBytes:
    """The same image as PNG (some endpoints take nothing else)."""
    if image.format == "PNG":
        return image
    from PIL import Image

    return png_of(Image.open(io.BytesIO(image.data)))


@dataclass(frozen=True)
class NamedImage:
    """An image given to a magic (to edit, as a mask, as a video's first frame), read once: its bytes and what
    the user named it."""

    label: str
    image: ImageBytes

    @property
    def digest(self) -> str:
        import hashlib

        return hashlib.sha256(self.image.data).hexdigest()

    def upload(self, name: str) -> tuple:
        """The (filename, bytes, media type) the SDK sends as one file of a form."""
        return f"{name}.{self.image.format.lower()}", self.image.data, self.image.media_type


def read_named_image(source, label: str, option: str, formats=("PNG", "JPEG", "WEBP")) -> NamedImage:
    """A source (a path, URL, PIL image, numpy array, figure or bytes) → its bytes, read once."""
    if isinstance(source, str) and source.startswith(("http://", "https://")):
        from openai_magics.wire.http import download

        source = download(source, f"{option} {source}", timeout=30)[0]
    return NamedImage(label, read_image(source, label, option, formats))
