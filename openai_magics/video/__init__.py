"""Videos: `%%video`, and `openai_magics.video("…")` from plain Python.

request (prompt, model, length, size, first frame or remix, checked against facts/data/video_models.json) →
engine (bounded by the budget, through the cache, the job followed, the MP4 downloaded and checked,
priced per second in the ledger) → result (the bytes, a player the saved notebook keeps).
"""
