"""Moderation: `%moderate TEXT` / `%%moderate`, and `openai_magics.moderation(text)` from plain Python.

request (texts, checked) → engine (the shared moderation call in core) → result (flagged categories, scores).
"""
