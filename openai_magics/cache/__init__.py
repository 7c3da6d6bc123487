"""The response cache every capability shares: `keys` (what identifies a request), `store` (the SQLite
file), `policy` (when the cache answers, replay mode, `send_through_cache(…)`), `vectors` (embeddings in the file).
"""
