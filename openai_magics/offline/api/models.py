"""`/models`: the models the offline server answers for."""
from __future__ import annotations

from openai_magics.offline import quirks
from openai_magics.offline.api.fine_tuning import FineTuning
from openai_magics.offline.router import Route

MODELS = ["gpt-5.4-nano", "gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-5-mini", "o4-mini", "o3-mini",
          "text-embedding-3-small", "text-embedding-3-large"]


def model_object(name: str) -> dict:
    return {"id": name, "object": "model", "created": 1700000000, "owned_by": "openai-magics-offline"}


def list_models(state, request) -> dict:
    served = quirks.served_models(state.quirks, MODELS + state.part(FineTuning).models())
    return {"object": "list", "data": [model_object(m) for m in served]}


def retrieve_model(state, request) -> dict:
    return model_object(request.params["model"])


ROUTES = [
    Route("GET", "/models", list_models),
    Route("GET", "/models/{model}", retrieve_model),
]
