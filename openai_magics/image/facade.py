"""`openai_magics.image("…")`: what `%%image` does, from plain Python, returning the same ImageResult."""
from __future__ import annotations

from openai_magics.core.session import session as current_session
from openai_magics.magics.kit import after_warm_up


@after_warm_up
def image(prompt: str, *, model: str | None = None, size: str | None = None, quality: str | None = None,
          n: int = 1, style: str | None = None, background: str | None = None, format: str | None = None,
          compression: int | None = None, edit=None, mask=None, partial_images: int = 0, cache: bool = True,
          save=None, view=None, session=None):
    """Generate `n` images from `prompt`, or edit `edit` (one source or a list: paths, URLs, PIL images,
    numpy arrays, figures, bytes) where `mask` is transparent. `view` sees partial images as they arrive."""
    from openai_magics.image.engine import run_image
    from openai_magics.image.request import ImageRequest
    from openai_magics.magics.images import read_named_image

    s = session or current_session()
    edits = [] if edit is None else list(edit) if isinstance(edit, (list, tuple)) else [edit]
    request = ImageRequest(
        prompt=prompt, model=s.model_for("image", model), size=size, quality=quality, n=n, style=style,
        background=background, format=format, compression=compression,
        edits=[read_named_image(source, _label(source, i), "edit") for i, source in enumerate(edits)],
        mask=None if mask is None else read_named_image(mask, _label(mask, 0, "mask"), "mask", ("PNG",)),
        partial_images=partial_images, cache=cache)
    result = run_image(s, request, view)
    if save is not None:
        result.save(save)
    return result


def _label(source, index: int, kind: str = "edit") -> str:
    return source if isinstance(source, str) else f"{kind} {index + 1} ({type(source).__name__})"
