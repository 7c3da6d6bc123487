"""Graders shaped like the testing criteria of OpenAI's Evals API, so one definition runs here and there.

`--grader` specs: equals, contains, icontains, regex:PATTERN, numeric:TOLERANCE, json, schema:NAME,
similar:THRESHOLD, model (a label-model grader with the rubric of the cell or of --rubric).
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

from openai_magics.core.errors import UsageError

ANSWER, EXPECTED = "{{sample.output_text}}", "{{item.expected}}"
SPECS = "equals, contains, icontains, regex:PATTERN, numeric:TOL, json, schema:NAME, similar:THRESHOLD, model"
LABELS, PASSING = ["pass", "fail"], ["pass"]
VERDICT_FORMAT = {"type": "json_schema", "json_schema": {"name": "verdict", "strict": True, "schema": {
    "type": "object", "additionalProperties": False, "required": ["label", "reason"],
    "properties": {"label": {"type": "string", "enum": LABELS}, "reason": {"type": "string"}}}}}


@dataclass
class Grade:
    passed: bool
    score: float
    reason: str
    cost: object = 0  # what grading this row cost (a model grader's call, embeddings)


@dataclass
class Grader:
    name: str
    kind: str                         # equals | contains | icontains | regex | numeric | json | schema | similar | model
    argument: object = None           # the pattern, tolerance, schema, threshold or rubric
    needs_expected: bool = True
    extra: dict = field(default_factory=dict)

    def criterion(self, judge_model: str | None = None, rubric: str | None = None) -> dict:
        """This grader as a testing criterion of the Evals API."""
        ops = {"equals": "eq", "contains": "like", "icontains": "ilike"}
        if self.kind in ops:
            return {"type": "string_check", "name": self.name, "input": ANSWER, "reference": EXPECTED,
                    "operation": ops[self.kind]}
        if self.kind == "similar":
            return {"type": "text_similarity", "name": self.name, "input": ANSWER, "reference": EXPECTED,
                    "evaluation_metric": "cosine", "pass_threshold": self.argument}
        if self.kind == "model":
            return {"type": "label_model", "name": self.name, "model": judge_model, "labels": LABELS,
                    "passing_labels": PASSING, "input": judge_messages(rubric, EXPECTED, ANSWER, "{{item}}")}
        return {"type": "python", "name": self.name, "source": PYTHON_SOURCES[self.kind].format(arg=self.argument_text)}

    @property
    def argument_text(self) -> str:
        return json.dumps(self.argument if self.kind != "schema" else _schema_dict(self.argument))


def parse_grader(spec: str, namespace: dict) -> Grader:
    kind, _, arg = spec.strip().partition(":")
    kind = kind.strip().lower()
    if kind in ("equals", "contains", "icontains", "json", "model") and not arg:
        return Grader(spec.strip(), kind, needs_expected=kind not in ("json", "model"))
    if kind == "regex" and arg:
        try:
            return Grader(spec.strip(), kind, re.compile(arg).pattern, needs_expected=False)
        except re.error as exc:
            raise UsageError(f"--grader {spec}: not a regular expression ({exc}).") from None
    if kind in ("numeric", "similar") and arg:
        value = _number(arg, spec)
        if kind == "similar" and not 0 <= value <= 1:
            raise UsageError(f"--grader {spec}: the cosine threshold goes from 0 to 1.")
        return Grader(spec.strip(), kind, value)
    if kind == "schema" and arg:
        if arg not in namespace:
            raise UsageError(f"--grader {spec}: no variable {arg!r} (a pydantic model or a JSON-schema dict).")
        return Grader(spec.strip(), kind, _checked_schema(namespace[arg], spec), needs_expected=False)
    raise UsageError(f"--grader {spec!r}: use one of {SPECS}.")


def _checked_schema(schema, spec: str):
    """A pydantic model class or a valid JSON-schema dict; one line for anything else (before any row is sent)."""
    if isinstance(schema, type) and hasattr(schema, "model_json_schema"):
        return schema
    if not isinstance(schema, dict):
        raise UsageError(f"--grader {spec}: a {type(schema).__name__} is not a schema; give a pydantic model or a "
                         "JSON-schema dict.")
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise UsageError(f"--grader {spec}: not a valid JSON schema ({exc.message}).") from None
    return schema


def _number(text: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"--grader {spec}: {text!r} is not a non-negative number.")
    return value


def _schema_dict(schema) -> dict:
    return schema.model_json_schema() if hasattr(schema, "model_json_schema") else schema


def judge_messages(rubric: str, expected: str, answer: str, item: str) -> list[dict]:
    """What a model grader reads: the rubric, then the row, the expected answer and the answer to grade."""
    return [{"role": "system", "content": f"{rubric}\n\nAnswer with the label pass or fail and a one-sentence reason."},
            {"role": "user", "content": f"Row: {item}\nExpected: {expected}\nAnswer: {answer}"}]


def grade_locally(grader: Grader, answer: str, expected) -> Grade:
    """Every grader that needs no model call."""
    expected_text = "" if expected is None else str(expected)
    if grader.kind == "equals":
        ok = answer.strip() == expected_text.strip()
        return Grade(ok, float(ok), "equal" if ok else f"expected {expected_text!r}")
    if grader.kind in ("contains", "icontains"):
        if not expected_text.strip():  # every answer contains the empty string
            return Grade(False, 0.0, "no expected answer to look for")
        fold = (lambda s: s.casefold()) if grader.kind == "icontains" else (lambda s: s)
        ok = fold(expected_text) in fold(answer)
        return Grade(ok, float(ok), f"{'contains' if ok else 'lacks'} {expected_text!r}")
    if grader.kind == "regex":
        match = re.search(grader.argument, answer)
        return Grade(bool(match), float(bool(match)), f"matched {match.group(0)!r}" if match else "no match")
    if grader.kind == "numeric":
        return _numeric(answer, expected, grader.argument)
    if grader.kind in ("json", "schema"):
        return _json(answer, grader.argument if grader.kind == "schema" else None)
    raise AssertionError(grader.kind)


_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _numeric(answer: str, expected, tolerance: float) -> Grade:
    found = _NUMBER.findall(answer)
    try:
        target = float(str(expected).replace(",", ""))
    except ValueError:
        return Grade(False, 0.0, f"expected {expected!r} is not a number")
    if not found:
        return Grade(False, 0.0, "no number in the answer")
    value = float(found[-1].replace(",", ""))
    ok = abs(value - target) <= tolerance
    return Grade(ok, float(ok), f"{value:g} vs {target:g} (±{tolerance:g})")


def _json(answer: str, schema) -> Grade:
    text = answer.strip()
    if text.startswith("```"):
        text = text.strip("`").partition("\n")[2]
    try:
        value = json.loads(text)
    except ValueError as exc:
        return Grade(False, 0.0, f"not JSON ({exc.msg})")
    if schema is None:
        return Grade(True, 1.0, "valid JSON")
    if hasattr(schema, "model_validate"):
        from pydantic import ValidationError

        try:
            schema.model_validate(value)
        except ValidationError as exc:
            return Grade(False, 0.0, f"{exc.error_count()} schema error(s)")
        return Grade(True, 1.0, "valid against the schema")
    from openai_magics.wire.sdk import jsonschema_module

    errors = list(jsonschema_module().Draft202012Validator(schema).iter_errors(value))
    return Grade(not errors, float(not errors), errors[0].message if errors else "valid against the schema")


def cosine(a: list, b: list) -> float:
    import numpy as np

    va, vb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    norm = float(np.linalg.norm(va) * np.linalg.norm(vb))
    return float(va @ vb / norm) if norm else 0.0


# The Evals API has no regex, numeric or JSON check: they go as python graders doing the same.
PYTHON_SOURCES = {
    "regex": "import re\ndef grade(sample, item):\n    return float(bool(re.search({arg}, sample['output_text'])))\n",
    "numeric": ("import re\ndef grade(sample, item):\n    found = re.findall(r'[-+]?\\d[\\d,]*(?:\\.\\d+)?', "
                "sample['output_text'])\n    if not found:\n        return 0.0\n    value = float(found[-1].replace(',', ''))\n"
                "    return float(abs(value - float(item['expected'])) <= {arg})\n"),
    "json": "import json\ndef grade(sample, item):\n    try:\n        json.loads(sample['output_text'])\n"
            "    except ValueError:\n        return 0.0\n    return 1.0\n",
    "schema": "import json, jsonschema\ndef grade(sample, item):\n    try:\n"
              "        jsonschema.validate(json.loads(sample['output_text']), json.loads({arg!r}))\n"
              "    except Exception:\n        return 0.0\n    return 1.0\n",
}
