"""Vector stores for file search, and the file uploads they and the code interpreter take (a service: chat's
`--files` and `--python` use it; `%openai store …` and `openai_magics.store(...)` drive it)."""
