"""Evals: `%%eval --data df …`, and `openai_magics.evals(template, data, …)` from plain Python.

request (template, rows, models, graders: checked) → engine (one answer per model and row, graded, cached,
budget-bounded) → result (a scoreboard and a per-row DataFrame); `--to-openai` runs the same eval on the
Evals API.
"""
