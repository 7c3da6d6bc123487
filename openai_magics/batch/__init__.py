"""The Batch API: many requests as one JSONL file, run by OpenAI within a day at half price.

`openai_magics.batch(lines, endpoint=…)` submits; `%openai batch list|status ID|results ID|cancel ID`
follows and collects, also after a kernel restart (see store.py).
"""
