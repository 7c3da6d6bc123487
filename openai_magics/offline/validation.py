"""Validate request bodies against OpenAI's published OpenAPI document, as the real API would.

JSON bodies are checked as they are. A multipart/form-data body arrives as text fields and files: each
field is first read as the type its schema wants (`n=2` as an integer, `stream=true` as a boolean), and
each file stands in as its file name (the schema calls files `string`, `format: binary`).
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from openai_magics.offline.errors import shorten

DOCUMENT_URI = "urn:openai-openapi"
MULTIPART = "multipart/form-data"


class RequestValidator:
    """Checks a request body against the schema the document gives for that operation and media type."""

    def __init__(self, document_path: str | Path):
        from openai_magics.wire.sdk import jsonschema_module

        jsonschema_module()
        from jsonschema import Draft202012Validator
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        self.document = json.loads(Path(document_path).read_text())
        resource = Resource.from_contents(self.document, default_specification=DRAFT202012)
        self._registry = Registry().with_resource(DOCUMENT_URI, resource)
        # The document writes oneOf where its alternatives overlap (an input message matches both the
        # "easy" and the full message schema); the API takes a body that matches any of them.
        from jsonschema import validators

        any_of = Draft202012Validator.VALIDATORS["anyOf"]
        self._validator_class = validators.extend(Draft202012Validator, {"oneOf": any_of})
        self._validators: dict[tuple, object] = {}

    def schema_for(self, path: str, method: str = "post", media: str = "application/json") -> dict | None:
        """The request schema of `method path` (an OpenAPI path such as `/files/{file_id}`), or None."""
        operation = self.document["paths"].get(path, {}).get(method.lower(), {})
        content = operation.get("requestBody", {}).get("content", {})
        return content.get(media, {}).get("schema")

    def _validator_for(self, path: str, method: str, media: str):
        key = (path, method, media)
        if key not in self._validators:
            schema = self.schema_for(path, method, media)
            if schema is None:
                self._validators[key] = None
            else:
                ref = schema.get("$ref", "")
                wrapped = {"$ref": DOCUMENT_URI + ref} if ref.startswith("#") else schema
                self._validators[key] = self._validator_class(wrapped, registry=self._registry)
        return self._validators[key]

    def violation(self, path: str, body: object, method: str = "post", media: str = "application/json",
                  files: dict | None = None) -> str | None:
        """The first violation of the body against the operation's schema, as one line; None when valid."""
        validator = self._validator_for(path, method, media)
        if validator is None:
            return None
        if media == MULTIPART:
            body = self.form_instance(self.schema_for(path, method, media), body, files or {})
        errors = sorted(validator.iter_errors(body), key=lambda e: (len(list(e.absolute_path)), e.message))
        if not errors:
            return None
        if errors[0].validator == "required":
            missing = next(name for name in errors[0].validator_value if name not in errors[0].instance)
            return f"Missing required parameter: '{missing}'."
        leaves = _deepest_leaves(errors[0])
        best = leaves[0]
        where = "/".join(str(p) for p in best.absolute_path) or "(body)"
        allowed = [v for leaf in leaves if leaf.validator in ("enum", "const")
                   for v in (leaf.validator_value if leaf.validator == "enum" else [leaf.validator_value])]
        if allowed and all(leaf.validator in ("enum", "const") for leaf in leaves):
            return f"{where}: {best.instance!r} is not one of {sorted(set(map(str, allowed)))}"
        return f"{where}: {shorten(best.message, 300)}"

    # -- multipart/form-data --
    def form_instance(self, schema: dict, fields: dict, files: dict) -> dict:
        """The form as the JSON value its schema describes: typed fields, files as their names."""
        instance = {name: self._typed(self._property(schema, name), value) for name, value in fields.items()}
        for name, upload in files.items():
            instance[name] = [u.filename for u in upload] if isinstance(upload, list) else upload.filename
        return instance

    def _resolve(self, schema: dict | None) -> dict:
        while schema and "$ref" in schema:
            node = self.document
            for part in schema["$ref"].lstrip("#/").split("/"):
                node = node[part]
            schema = node
        return schema or {}

    def _alternatives(self, schema: dict | None) -> list[dict]:
        schema = self._resolve(schema)
        options = schema.get("anyOf") or schema.get("oneOf")
        if not options:
            return [schema]
        return [alt for option in options for alt in self._alternatives(option)]

    def _property(self, schema: dict | None, name: str) -> dict:
        for option in self._alternatives(schema):
            found = (option.get("properties") or {}).get(name)
            if found is not None:
                return found
        return {}

    def _typed(self, schema: dict, value):
        """A form value read as the type its schema wants, when it does not want a string."""
        if isinstance(value, list):
            items = next((o.get("items") for o in self._alternatives(schema) if o.get("items")), {})
            return [self._typed(items, v) for v in value]
        if isinstance(value, dict):
            return {k: self._typed(self._property(schema, k), v) for k, v in value.items()}
        types = {o.get("type") for o in self._alternatives(schema)}
        if "string" in types or not types - {None}:
            return value
        for kind, convert in (("integer", int), ("number", float), ("boolean", _boolean)):
            if kind in types:
                try:
                    return convert(value)
                except ValueError:
                    pass
        return value


def _boolean(text: str) -> bool:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    raise ValueError(text)


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




@lru_cache(maxsize=4)
def load_validator(document_path: str) -> RequestValidator:
    """One validator per document per process: the document is 3.4 MB."""
    return RequestValidator(document_path)
