"""Audio: `%%transcribe` (speech to text, long files split at silences) and `%%speak` (text to speech);
`openai_magics.transcribe(...)` and `openai_magics.speak(...)` from plain Python.

sources (any notebook value → audio bytes) → request (checked per model) → engine (chunks, concurrency,
cache, ledger) → result (transcript or speech, with an audio player)."""
