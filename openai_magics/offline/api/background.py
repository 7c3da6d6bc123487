"""Background responses (`background: true`): the response is made at once but reported `queued`, then
`in_progress` for `steps` retrievals, then `completed` (or `cancelled`), as OpenAI runs one on its side.
GET /responses/{id} retrieves one, POST /responses/{id}/cancel cancels one still running."""
from __future__ import annotations

from dataclasses import dataclass, field

from openai_magics.offline.errors import RequestError
from openai_magics.offline.router import Route

RUNNING = ("queued", "in_progress")


@dataclass
class BackgroundRuns:
    runs: dict = field(default_factory=dict)  # id → {"final": the finished response, "status", "polls"}
    steps: int = 1                            # retrievals that see it in progress before it completes

    def start(self, final: dict) -> dict:
        self.runs[final["id"]] = {"final": final, "status": "queued", "polls": 0}
        return self.shown(final["id"])

    def shown(self, rid: str) -> dict:
        run = self.runs[rid]
        if run["status"] == "completed":
            return {**run["final"], "background": True}
        return {**run["final"], "status": run["status"], "output": [], "usage": None, "background": True,
                "incomplete_details": None}


def retrieve(state, request) -> dict:
    runs = state.part(BackgroundRuns)
    with state.lock:
        run = _run(runs, request.params["response_id"])
        if run["status"] in RUNNING:
            run["polls"] += 1
            run["status"] = "in_progress" if run["polls"] <= runs.steps else "completed"
        return runs.shown(request.params["response_id"])


def cancel(state, request) -> dict:
    runs = state.part(BackgroundRuns)
    with state.lock:
        run = _run(runs, request.params["response_id"])
        if run["status"] in RUNNING:
            run["status"] = "cancelled"
        return runs.shown(request.params["response_id"])


def _run(runs: BackgroundRuns, rid: str) -> dict:
    if rid not in runs.runs:
        raise RequestError(f"Response with id '{rid}' not found.", param="response_id", status=404)
    return runs.runs[rid]


ROUTES = [
    Route("GET", "/responses/{response_id}", retrieve),
    Route("POST", "/responses/{response_id}/cancel", cancel),
]
