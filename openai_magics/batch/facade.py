"""`openai_magics.batch(bodies, endpoint=…)`: submit request bodies as a batch from plain Python."""
from __future__ import annotations

from openai_magics.core.session import session as current_session
from openai_magics.magics.kit import after_warm_up


@after_warm_up
def batch(bodies: dict, *, endpoint: str = "/v1/chat/completions", wait: bool = True, session=None, progress=None):
    """Run `bodies` (custom_id → request body) as one batch; with `wait`, the results aligned with them."""
    from openai_magics.batch.engine import submit
    from openai_magics.batch.request import BatchRequest

    return submit(session or current_session(), BatchRequest(dict(bodies), endpoint, wait=wait), progress)
