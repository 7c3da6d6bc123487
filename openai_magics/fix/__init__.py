"""`%fix` / `%explain`: the kernel's last error, its cell and the variables that cell uses, asked about through
chat; and `openai_magics.fix()` / `openai_magics.explain()` from plain Python.

error (the last exception, trimmed to the user's frames, and its cell) → prompt (what is asked, scrubbed of
the keys) → chat's own path (priced, cached, budget-bounded, streamed) → the corrected cell as the next input.
"""
