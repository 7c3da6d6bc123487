"""The magic kit every capability's magic is built from (`kit`), and the magics that belong to no single
capability: `%openai` (the session) and `%tokens`."""
