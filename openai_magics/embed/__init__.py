"""Embeddings: `%%embed`, and `openai_magics.embed(texts)` from plain Python.

request (texts and limits, checked) → engine (batches, sends concurrently, caches) → result (vectors, search).
"""
