"""The gallery an ImageResult shows: thumbnails that enlarge on click, with their caption.

Plain HTML with the images inline as data URLs, so the saved notebook shows them in JupyterLab, Notebook 7,
nbviewer and GitHub, and after a reopen without any kernel or widget state. Enlarging needs no script (a
clicked thumbnail takes focus, and CSS shows a focused one at full width); where styles are stripped, the
thumbnails still show. Colours come from the JupyterLab theme, so a dark theme stays readable.
"""
from __future__ import annotations

import base64

from openai_magics.views.markup import NO_MATHS, escape_markup, usage_sub

THUMBNAIL = 256  # px

STYLE = """<style>
.oaim-gallery .oaim-tiles { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-start; }
.oaim-gallery figure { margin: 0; max-width: 100%; }
.oaim-gallery img { width: 256px; max-width: 100%; height: auto; cursor: zoom-in; border-radius: 4px;
  border: 1px solid var(--jp-border-color2, #ccc); background: var(--jp-layout-color2, #eee); }
.oaim-gallery img:focus { width: auto; cursor: zoom-out; outline: 2px solid var(--jp-brand-color1, #1976d2); }
.oaim-gallery figcaption { font-size: 0.85em; color: var(--jp-ui-font-color2, #555); max-width: 256px; }
.oaim-gallery img:focus + figcaption { max-width: none; }
.oaim-gallery .oaim-prompt { color: var(--jp-ui-font-color1, inherit); margin: 0 0 6px 0; }
</style>"""


def data_url(image) -> str:
    return f"data:{image.media_type};base64,{base64.b64encode(image.data).decode('ascii')}"


def figure(index: int, image, caption: str, prompt: str) -> str:
    revised = (f'<br><span class="oaim-revised">revised prompt: {escape_markup(image.revised_prompt)}</span>'
               if image.revised_prompt else "")
    alt = escape_markup(f"image {index}: {prompt[:120]}")
    return (f'<figure><img tabindex="0" width="{min(THUMBNAIL, image.width)}" src="{data_url(image)}" '
            f'alt="{alt}" title="Click to enlarge ({image.width}×{image.height})">'
            f"<figcaption>{index} · {escape_markup(caption)}{revised}</figcaption></figure>")


def gallery_html(result) -> str:
    tiles = "".join(figure(i, image, caption, result.prompt)
                    for i, (image, caption) in enumerate(zip(result.images, result.captions()), 1))
    saved = "".join(f"<br>saved: <code>{escape_markup(str(path))}</code>" for path in result.saved_to)
    return (f'<div class="oaim-gallery {NO_MATHS}">{STYLE}'
            f'<p class="oaim-prompt"><b>{escape_markup(result.summary)}</b></p>'
            f'<div class="oaim-tiles">{tiles}</div>{saved}{usage_sub(result.usage_line)}</div>')
