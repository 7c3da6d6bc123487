"""`openai_magics.moderation(text)`: what `%moderate` does, from plain Python."""
from __future__ import annotations

from openai_magics.moderation.check import MODERATION_MODEL
from openai_magics.core.session import session as current_session
from openai_magics.magics.kit import after_warm_up


@after_warm_up
def moderation(texts, *, model: str = MODERATION_MODEL, session=None):
    from openai_magics.moderation.engine import run_moderation
    from openai_magics.moderation.request import ModerationRequest

    return run_moderation(session or current_session(), ModerationRequest(texts, model))
