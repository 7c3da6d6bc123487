"""Moderation: `%moderate TEXT` / `%%moderate`, and `openai_magics.moderation(text)` from plain Python.

request (texts, checked) → engine (the shared moderation call in core) → result (flagged categories, scores).
"""
from openai_magics.core.facade import make_callable

make_callable(__name__, "openai_magics.moderation.facade:moderation")
