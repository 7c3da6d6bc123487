"""`/models`: the models the offline server answers for."""
from __future__ import annotations

from openai_magics.facts.models import is_openai_model
from openai_magics.offline import quirks
from openai_magics.offline.errors import RequestError
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
    model = request.params["model"]
    if not served(state, model):
        raise RequestError(f"The model '{model}' does not exist", code="model_not_found", param="model", status=404)
    return model_object(model)


def unknown_model(state, route_path: str, body) -> RequestError | None:
    """The 404 OpenAI gives a request for a model it does not have (`-m gpt-4o-mimi`), so a typo fails here as
    it would there; None for a model it has. Fine-tuning checks its base models itself."""
    model = body.get("model") if isinstance(body, dict) else None
    if not isinstance(model, str) or route_path.startswith("/fine_tuning") or served(state, model):
        return None
    return RequestError(f"The model `{model}` does not exist or you do not have access to it.",
                        code="model_not_found", status=404)


def served(state, model: str) -> bool:
    """OpenAI's models and the ones fine-tuned here; any name at all when the server rehearses a compatible
    one (`any_model`, or a compatible server's quirks), which serves models of its own."""
    if state.any_model or state.quirks:
        return True
    return is_openai_model(model) or model in state.part(FineTuning).models()


ROUTES = [
    Route("GET", "/models", list_models),
    Route("GET", "/models/{model}", retrieve_model),
]
