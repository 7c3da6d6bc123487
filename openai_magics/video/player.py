"""The player a VideoResult shows: an HTML5 <video> with the MP4 inline as a data URL, so the saved notebook
plays it in JupyterLab, Notebook 7, nbviewer and after a reopen, with no kernel and no widget state. Its
caption and usage line follow the JupyterLab theme's colours."""
from __future__ import annotations

import base64

from openai_magics.views.markup import NO_MATHS, escape_markup, usage_sub

LARGEST_SIDE = 480  # px: the player's longer side as first shown (full screen from its controls)

STYLE = """<style>
.oaim-video video { max-width: 100%; height: auto; border-radius: 4px; background: #000;
  border: 1px solid var(--jp-border-color2, #ccc); }
.oaim-video .oaim-prompt { color: var(--jp-ui-font-color1, inherit); margin: 0 0 6px 0; }
</style>"""


def data_url(data: bytes) -> str:
    return f"data:video/mp4;base64,{base64.b64encode(data).decode('ascii')}"


def shown_size(size: str) -> tuple[int, int]:
    """The player's width and height: the video's, scaled so its longer side is LARGEST_SIDE at most."""
    width, height = map(int, size.split("x"))
    scale = min(1.0, LARGEST_SIDE / max(width, height))
    return round(width * scale), round(height * scale)


def player_html(result) -> str:
    width, height = shown_size(result.size)
    saved = f"<br>saved: <code>{escape_markup(str(result.saved_to))}</code>" if result.saved_to is not None else ""
    return (f'<div class="oaim-video {NO_MATHS}">{STYLE}'
            f'<p class="oaim-prompt"><b>{escape_markup(result.summary)}</b></p>'
            f'<video controls loop muted playsinline preload="auto" width="{width}" height="{height}" '
            f'title="{escape_markup(result.prompt[:120])}" src="{data_url(result.data)}"></video>'
            f"{saved}<br>{usage_sub(result.usage_line)}</div>")
