"""Chat on Chat Completions or the Responses API: `%%chat`, and `openai_magics.chat("…")` from plain Python.

request (what is asked, checked, and its body) → engine (sends, streams, records) → result (what shows).
"""
