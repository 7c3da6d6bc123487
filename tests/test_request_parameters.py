"""Request parameters follow the model wherever the endpoint bills like OpenAI (issue 27): the output limit's
name, the system prompt's role, and sampling parameters the model refuses (one line, nothing sent)."""
import pytest


def chat_requests(offline):
    return [r for r in offline.requests if "/chat/completions" in r.path]


@pytest.fixture
def gateway(nb, offline):
    """An endpoint the user said bills like OpenAI (a gateway in front of it), not OpenAI's own URL."""
    ran = nb.run(f"%openai endpoint {offline.base_url} --bills openai")
    assert "you said this endpoint bills like OpenAI" in ran.stdout
    for name in ("o3", "o3-2025-04-16"):  # o3's date-dependent price: the pricing half of issue 27
        nb.run(f"%openai price {name} 2 8")
    offline.clear_log()
    return offline


def test_a_reasoning_model_behind_a_gateway_gets_max_completion_tokens(nb, gateway):
    ran = nb.run("%chat -m o3 --max-tokens 300 hi")
    assert ran.error is None and ran.result.text
    body = chat_requests(gateway)[-1].body
    assert body["max_completion_tokens"] == 300 and "max_tokens" not in body


def test_a_model_without_rules_behind_a_gateway_keeps_max_tokens(nb, gateway):
    nb.run("%chat -m gpt-4o-mini --max-tokens 30 hi")
    body = chat_requests(gateway)[-1].body
    assert body["max_tokens"] == 30 and "max_completion_tokens" not in body


def test_a_server_that_does_not_bill_like_openai_gets_what_was_asked(nb, offline):
    nb.run(f"%openai endpoint {offline.base_url}")
    nb.run("%chat -m o3 -s 'Be brief.' -t 0.2 --max-tokens 300 hi")
    body = chat_requests(offline)[-1].body
    assert body["max_tokens"] == 300 and body["temperature"] == 0.2
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}


def test_a_reasoning_model_gets_the_system_prompt_as_developer(nb, gateway):
    nb.run("%chat -m gpt-5-mini -s 'Be brief.' hi")
    messages = chat_requests(gateway)[-1].body["messages"]
    assert messages == [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "hi"}]


def test_o1_mini_gets_the_system_prompt_folded_into_the_user_turn(nb, gateway):
    ran = nb.run("%chat -m o1-mini -s 'Answer in French.' Bonjour")
    assert ran.error is None and ran.result.text
    messages = chat_requests(gateway)[-1].body["messages"]
    assert [m["role"] for m in messages] == ["user"]
    assert messages[0]["content"] == "Answer in French.\n\nBonjour"


def test_o1_mini_in_a_thread_keeps_the_system_prompt_out_of_every_turn_but_the_first(nb, gateway):
    nb.run("%%chat -m o1-mini -s 'Answer in French.' --thread t\nfirst", cell_id="a")
    nb.run("%%chat -m o1-mini --thread t\nsecond", cell_id="b")
    messages = chat_requests(gateway)[-1].body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[0]["content"] == "Answer in French.\n\nfirst" and messages[2]["content"] == "second"


@pytest.mark.parametrize("cell, option", [
    ("%chat -m o3 -t 0.2 hi", "--temperature"),
    ("%chat -m gpt-5-mini --stop END hi", "--stop"),
    ("%chat -m o1-mini --reasoning-effort low hi", "--reasoning-effort"),
    ("%chat -m o4-mini --api responses -t 0 hi", "--temperature"),
])
def test_a_parameter_the_model_refuses_is_one_line_and_nothing_is_sent(nb, session, gateway, cell, option):
    ran = nb.run(cell)
    assert type(ran.error).__name__ == "UsageError"
    message = str(ran.error)
    assert "\n" not in message and f"drop {option}" in message and "Nothing was sent" in message
    assert "Traceback" not in ran.text
    assert chat_requests(gateway) == [] and len(session.ledger) == 0


def test_the_default_temperature_is_taken(nb, gateway):
    assert nb.run("%chat -m o3 -t 1 hi").error is None
    assert chat_requests(gateway)[-1].body["temperature"] == 1


def test_dry_run_shows_the_body_the_model_takes(nb, gateway):
    ran = nb.run("%chat -m o4-mini -s 'Be brief.' --max-tokens 99 --dry-run hi")
    shown = ran.text
    assert '"max_completion_tokens": 99' in shown and '"developer"' in shown and '"max_tokens"' not in shown
    assert chat_requests(gateway) == []


def test_azure_openai_deployments_of_reasoning_models_get_their_parameters(nb, offline, monkeypatch):
    monkeypatch.setenv("AZURE_TEST_KEY", "azure-test-key-1234567890")
    root = offline.base_url.rsplit("/v1", 1)[0]
    nb.run(f"%openai endpoint {root} --azure --api-version 2024-10-21 --key-env AZURE_TEST_KEY")  # no --bills
    ran = nb.run("%chat -m o4-mini -s 'Be brief.' --max-tokens 300 hi")
    assert ran.error is None and ran.result.text
    body = chat_requests(offline)[-1].body
    assert body["max_completion_tokens"] == 300 and "max_tokens" not in body
    assert body["messages"][0]["role"] == "developer"
