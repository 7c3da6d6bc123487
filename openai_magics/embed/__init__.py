"""Embeddings: `%%embed`, and `openai_magics.embed(texts)` from plain Python.

request (texts and limits, checked) → engine (batches, sends concurrently, caches) → result (vectors, search).
"""
from openai_magics.core.facade import make_callable

make_callable(__name__, "openai_magics.embed.facade:embed")
