"""Images: `%%image`, and `openai_magics.image("…")` from plain Python.

request (prompt, options and edit inputs, checked against what the model takes) → engine (sends, streams
partial images, caches, records) → result (the images, a gallery that survives saving).
"""
