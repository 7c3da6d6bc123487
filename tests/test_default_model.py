"""The default chat model (issue 27): current, cheap and fast; kept fast at a low reasoning effort; notebooks
that name gpt-4o-mini keep working."""
import json

import pytest

from openai_magics.core.config import DEFAULT_CHAT_EFFORT, DEFAULT_MODELS, Config

DEFAULT = DEFAULT_MODELS["chat"]


@pytest.fixture
def shipped(session):
    """The session as a user gets it: the tests' own chat model put back to the shipped default."""
    session.config.models["chat"] = Config().models["chat"]
    return session


def last_chat_body(offline) -> dict:
    return [r.body for r in offline.requests if r.path.endswith("/chat/completions")][-1]


def test_the_default_is_a_current_priced_model_in_openais_document(server):
    from genai_prices import calc_price, Usage

    from openai_magics.offline import find_openapi_document

    assert DEFAULT == "gpt-5.4-nano" and DEFAULT_CHAT_EFFORT == "low"
    assert calc_price(Usage(input_tokens=1_000_000), DEFAULT, provider_id="openai").total_price > 0
    document = find_openapi_document()
    if document is not None:
        assert f'"{DEFAULT}"' in json.dumps(json.loads(document.read_text()))


def test_a_cell_without_a_model_asks_the_default_at_a_low_effort(nb, shipped, offline):
    ran = nb.run("%chat Explain a p-value in three sentences.")
    assert ran.error is None and ran.result.text
    body = last_chat_body(offline)
    assert body["model"] == DEFAULT and body["reasoning_effort"] == DEFAULT_CHAT_EFFORT
    (record,) = shipped.ledger.records
    assert record.model.startswith(DEFAULT) and record.cost > 0 and record.usage.reasoning_tokens > 0


def test_a_cell_that_asks_another_effort_gets_it(nb, shipped, offline):
    nb.run("%chat --reasoning-effort high hi")
    assert last_chat_body(offline)["reasoning_effort"] == "high"


def test_a_notebook_that_names_gpt_4o_mini_keeps_working(nb, shipped, offline):
    ran = nb.run("%%chat -m gpt-4o-mini -t 0.2\nExplain a p-value in three sentences.")
    assert ran.error is None and ran.result.model == "gpt-4o-mini-2024-07-18"
    body = last_chat_body(offline)
    assert body["temperature"] == 0.2 and "reasoning_effort" not in body


def test_a_temperature_on_the_default_says_which_model_takes_one(nb, shipped, offline):
    ran = nb.run("%chat -t 0.2 hi")
    assert type(ran.error).__name__ == "UsageError"
    assert "drop --temperature, or pick a model that takes it" in str(ran.error)
    assert not [r for r in offline.requests if r.path.endswith("/chat/completions")]
