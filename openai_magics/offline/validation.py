"""Validate request bodies against OpenAI's published OpenAPI document, as the real API would."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

DOCUMENT_URI = "urn:openai-openapi"


class RequestValidator:
    """Checks a JSON request body against the schema the document gives for that path."""

    def __init__(self, document_path: str | Path):
        from jsonschema import Draft202012Validator
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        self.document = json.loads(Path(document_path).read_text())
        resource = Resource.from_contents(self.document, default_specification=DRAFT202012)
        self._registry = Registry().with_resource(DOCUMENT_URI, resource)
        self._validator_class = Draft202012Validator
        self._validators: dict[str, object] = {}

    def _validator_for(self, path: str):
        if path not in self._validators:
            operation = self.document["paths"].get(path, {}).get("post", {})
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema is None:
                self._validators[path] = None
            else:
                ref = schema.get("$ref", "")
                wrapped = {"$ref": DOCUMENT_URI + ref} if ref.startswith("#") else schema
                self._validators[path] = self._validator_class(wrapped, registry=self._registry)
        return self._validators[path]

    def violation(self, path: str, body: object) -> str | None:
        """The first violation of the body against the path's schema, as one line; None when valid."""
        validator = self._validator_for(path)
        if validator is None:
            return None
        errors = sorted(validator.iter_errors(body), key=lambda e: (len(list(e.absolute_path)), e.message))
        if not errors:
            return None
        leaves = _deepest_leaves(errors[0])
        best = leaves[0]
        where = "/".join(str(p) for p in best.absolute_path) or "(body)"
        allowed = [v for leaf in leaves if leaf.validator in ("enum", "const")
                   for v in (leaf.validator_value if leaf.validator == "enum" else [leaf.validator_value])]
        if allowed and all(leaf.validator in ("enum", "const") for leaf in leaves):
            return f"{where}: {best.instance!r} is not one of {sorted(set(map(str, allowed)))}"
        return f"{where}: {_short(best.message)}"


def _deepest_leaves(error):
    """oneOf/anyOf errors hide the useful cause in their context: the leaves at the deepest path."""
    leaves = []

    def walk(e):
        if e.context:
            for child in e.context:
                walk(child)
        else:
            leaves.append(e)

    walk(error)
    depth = max(len(list(e.absolute_path)) for e in leaves)
    return [e for e in leaves if len(list(e.absolute_path)) == depth]


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


@lru_cache(maxsize=4)
def load_validator(document_path: str) -> RequestValidator:
    """One validator per document per process: the document is 3.4 MB."""
    return RequestValidator(document_path)
