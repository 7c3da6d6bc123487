"""Azure OpenAI's path layout on the offline server: `/openai/deployments/{deployment}/chat/completions
?api-version=…` (the deployment names the model), `/openai/responses?api-version=…`, and the `api-key`
header, so that the Azure client is tested against real HTTP as the OpenAI one is."""
from __future__ import annotations

import re
from dataclasses import dataclass

DEPLOYMENT = re.compile(r"^/openai/deployments/(?P<deployment>[^/]+)/(?P<rest>chat/completions|embeddings)$")


@dataclass
class AzureRequest:
    path: str              # the OpenAI path it amounts to (`/v1/...`)
    body: object
    error: str | None = None


def translate(path: str, query: dict, body) -> AzureRequest | None:
    """The OpenAI request an Azure-style one amounts to; None for a path that is not Azure's."""
    found = DEPLOYMENT.match(path)
    if found:
        target, model = "/v1/" + found["rest"], found["deployment"]
    elif path == "/openai/responses":
        target, model = "/v1/responses", None
    else:
        return None
    if not query.get("api-version"):
        return AzureRequest(target, body, "Missing the api-version query parameter (e.g. ?api-version=2024-10-21).")
    if model is not None and isinstance(body, dict):
        body = {**body, "model": model}  # Azure answers with the deployment's model, whatever the body says
    return AzureRequest(target, body)
