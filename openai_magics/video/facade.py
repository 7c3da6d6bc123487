"""`openai_magics.video("…")`: what `%%video` does, from plain Python, returning the same VideoResult."""
from __future__ import annotations

from openai_magics.core.session import session as current_session
from openai_magics.magics.kit import after_warm_up


@after_warm_up
def video(prompt: str, *, model: str | None = None, seconds: int | None = None, size: str | None = None,
          image=None, remix: str | None = None, cache: bool = True, save=None, view=None, session=None):
    """Make a video of `prompt`, `seconds` long at `size`, starting from `image` (a path, PIL image, numpy
    array, figure or bytes) when given; or remix the completed video `remix` with this prompt. `view`, a
    progress view (views.progress: start(tally), update(), finish()), sees the job's status and percent done
    in its Tally while it is made."""
    from openai_magics.video.engine import run_video
    from openai_magics.magics.images import read_named_image
    from openai_magics.video.request import VideoRequest

    s = session or current_session()
    label = image if isinstance(image, str) else f"image ({type(image).__name__})"
    request = VideoRequest(prompt=prompt, model=model if remix else s.model_for("video", model), seconds=seconds,
                           size=size, image=None if image is None else read_named_image(image, label, "--image"),
                           remix=remix, cache=cache)
    result = run_video(s, request, view)
    if save is not None:
        result.save(save)
    return result
