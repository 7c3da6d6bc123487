"""HTML and Markdown pieces every view shares: figures that no maths typesetter may touch."""
from __future__ import annotations

import html

# MathJax 3/4 (JupyterLab, Notebook 7) skips elements of class mathjax_ignore, MathJax 2 (nbviewer) tex2jax_ignore:
# without them, the text between two dollar amounts is typeset as maths.
NO_MATHS = "mathjax_ignore tex2jax_ignore"
# Notebook frontends right-align every table cell; a column of text reads from the left (figures stay right).
LEFT = ' style="text-align:left"'


def escape_markup(text: str) -> str:
    """Text for HTML or Markdown: escaped, each `$` an entity, so Markdown's maths pass never pairs them."""
    return html.escape(text).replace("$", "&#36;")


def shorten(text: str, limit: int) -> str:
    """One line of at most `limit` characters: whitespace runs collapsed, the rest cut with "…". Unlike
    `textwrap.shorten`, which drops a word that does not fit, a long JSON or signature keeps its start."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def usage_sub(text: str) -> str:
    """The small line under a result (model, tokens, dollars, time)."""
    return f'<sub class="{NO_MATHS}">{escape_markup(text)}</sub>'


def usage_sub_unbroken(text: str) -> str:
    """The usage line for a narrow column: it wraps only between its phrases ("0.4 s to first token" stays
    whole)."""
    phrases = " · ".join(f'<span style="white-space:nowrap">{escape_markup(part)}</span>'
                         for part in text.split(" · "))
    return f'<sub class="{NO_MATHS}">{phrases}</sub>'
