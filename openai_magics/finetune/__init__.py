"""Fine-tuning from the notebook: `%openai finetune prepare|start|status|list|cancel`, and
`openai_magics.finetune(training, model=…)` from plain Python.

validate (the training set, line by line) → prepare (tokens, limits, cost; nothing sent) → engine (upload,
jobs, events) → jobs (ids kept on disk) → result (what a cell shows: report, job view with its loss chart).
"""
