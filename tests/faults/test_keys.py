"""The key never shows, and goes only where it belongs."""
from __future__ import annotations

import pytest

from conftest import TEST_KEY
from tests.faults.checks import ROGUE_KEY_ENV, no_key, no_key_logged, one_line
from tests.faults.rogue import Answer, chunk, completion, echo_key_error, echo_key_json, json_answer

CHAT_LINES = {
    "stream": "%chat hi",
    "no-stream": "%chat --no-stream hi",
    "responses": "%chat --api responses hi",
    "responses-no-stream": "%chat --api responses --no-stream hi",
    "json": "%chat --json answer in JSON",
    "json-no-stream": "%chat --json --no-stream answer in JSON",
    "tools": "%chat --tools add what is 2+3",
    "tools-no-stream": "%chat --tools add --no-stream what is 2+3",
    "thread": "%chat --thread T hi",
    "quiet": "%chat -q -o out hi",
    "embed": "%embed one text",
    "embed-cell": "%%embed\nfirst\nsecond",
    "models": "%openai models",
}


def _add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def at_rogue(nb, rogue) -> None:
    """Point the session at the rogue server, giving it the key (a proxy that has it, then echoes it)."""
    nb.ns["add"] = _add
    ran = nb.run(f"%openai endpoint {rogue.base_url} --key-env {ROGUE_KEY_ENV}")
    assert ran.error is None and "…" in ran.stdout


@pytest.mark.parametrize("xmode", ["Context", "Verbose"])
@pytest.mark.parametrize("line", list(CHAT_LINES.values()), ids=list(CHAT_LINES))
def test_an_error_event_echoing_the_key_is_one_line_without_it(nb, rogue, fast, logs, line, xmode):
    at_rogue(nb, rogue)
    rogue.script(echo_key_error)
    nb.run(f"%xmode {xmode}")
    try:
        ran = nb.run(line)
    finally:
        nb.run("%xmode Context")
    one_line(ran)
    assert TEST_KEY in rogue.seen[0].authorization  # the server did have the key, and echoed it
    no_key_logged(logs)


@pytest.mark.parametrize("status", [400, 401, 404, 422, 500])
@pytest.mark.parametrize("line", ["%chat hi", "%chat --no-stream hi", "%embed x", "%chat --api responses hi"],
                         ids=["stream", "no-stream", "embed", "responses"])
def test_a_json_error_echoing_the_key_is_one_line_without_it(nb, rogue, fast, logs, line, status):
    at_rogue(nb, rogue)
    rogue.script(echo_key_json(status))
    nb.run("%xmode Verbose")
    try:
        ran = nb.run(line)
    finally:
        nb.run("%xmode Context")
    one_line(ran)
    no_key_logged(logs)


def test_verbose_traceback_of_a_bad_endpoint_shows_no_key(nb, session):
    nb.run("%xmode Verbose")
    try:
        one_line(nb.run("%openai endpoint http://[::1"), "Not an endpoint URL")
        # Set from plain Python, past the magic's check: the client cannot even be built.
        session.configure(base_url="http://[::1", endpoint_key=session.config.api_key)
        for line in ("%chat hi", "%chat --no-stream hi", "%embed x", "%openai models"):
            one_line(nb.run(line))
    finally:
        nb.run("%xmode Context")


@pytest.mark.parametrize("url", ["http://[::1", "ftp://x", "http://", "localhost:8000", "http://a b/v1",
                                 "http://host:99999/v1", ""])
def test_bad_endpoint_urls_are_refused_in_one_line(nb, url):
    from openai_magics import session

    before = session().base_url
    one_line(nb.run(f"%openai endpoint '{url}'" if url else "%openai endpoint"))
    assert session().base_url == before


def test_the_openai_key_is_not_sent_to_another_endpoint(nb, rogue, fast):
    rogue.script(json_answer(completion()))
    nb.run(f"%openai endpoint {rogue.base_url}")
    ran = nb.run("%chat --no-stream hi")
    assert ran.error is None and ran.result.text == "Hello."
    assert rogue.seen[0].authorization == "Bearer sk-no-key-needed"
    status = nb.run("%openai status").stdout
    assert "none sent to this endpoint" in status and "goes to OpenAI only" in status


@pytest.mark.parametrize("url", ["https://api.openai.com.evil.example/v1", "http://api.openai.com/v1",
                                 "https://evil.example/api.openai.com/v1", "https://evil.example/?h=.openai.azure.com"])
def test_a_lookalike_of_openai_is_not_openai(session, url):
    session.configure(base_url=url)
    assert not session.config.is_openai and not session.config.is_azure
    assert session.config.key_to_send() is None


def test_a_key_given_for_the_endpoint_is_sent_to_it(nb, rogue, fast):
    rogue.script(json_answer(completion()))
    at_rogue(nb, rogue)
    nb.run("%chat --no-stream hi")
    assert rogue.seen[0].authorization == f"Bearer {TEST_KEY}"
    no_key(nb.run("%openai status").stdout)


def test_sending_the_openai_key_to_a_proxy_is_explicit(nb, rogue, fast):
    rogue.script(json_answer(completion()))
    nb.run(f"%openai endpoint {rogue.base_url} --send-openai-key")
    nb.run("%chat --no-stream hi")
    assert rogue.seen[0].authorization == f"Bearer {TEST_KEY}"
    nb.run(f"%openai endpoint {rogue.base_url}")  # said again without it: no longer sent
    nb.run("%chat --no-stream hi again")
    assert rogue.seen[-1].authorization == "Bearer sk-no-key-needed"


def test_key_env_that_is_not_set_changes_nothing(nb, session):
    before = session.base_url
    one_line(nb.run("%openai endpoint http://localhost:1/v1 --key-env NO_SUCH_VARIABLE_HERE"), "not set")
    assert session.base_url == before


def test_endpoint_default_after_offline_uses_the_openai_key_again(nb, session):
    nb.run("%openai offline")
    assert session.config.key_to_send().reveal() == "sk-offline"
    nb.run("%openai endpoint default")
    assert session.config.key_to_send().reveal() == TEST_KEY
    assert "sk-offline" not in nb.run("%openai status").stdout


def test_the_environment_pair_is_the_sdk_convention(monkeypatch):
    from openai_magics.core.config import Config

    config = Config.from_env({"OPENAI_API_KEY": TEST_KEY, "OPENAI_BASE_URL": "http://proxy.local/v1"})
    assert config.key_to_send().reveal() == TEST_KEY
    alone = Config.from_env({"OPENAI_API_KEY": TEST_KEY})
    alone.base_url = "http://other.local/v1"
    assert alone.key_to_send() is None


def test_a_server_that_echoes_the_key_in_a_200_body_is_redacted_in_errors(nb, rogue, fast):
    at_rogue(nb, rogue)
    rogue.script(lambda seen: Answer(body=f"<html>proxy says {seen.authorization}</html>".encode(),
                                     content_type="text/html"))
    one_line(nb.run("%chat --no-stream hi"))
    one_line(nb.run("%embed hi"))


def test_a_stream_that_echoes_the_key_after_text_keeps_the_text_without_the_key(nb, rogue, fast):
    at_rogue(nb, rogue)
    rogue.script(lambda seen: Answer(events=[
        chunk("Partial "), b'{"error": {"message": "upstream died: ' + seen.authorization.encode() + b'"}}']))
    ran = nb.run("%chat hi")
    no_key(ran.text, ran.error)
    assert ran.result is not None and ran.result.text == "Partial " and ran.result.incomplete


KINDS = {
    "project": ("sk-proj-", "key type: project key"),
    "service-account": ("sk-svcacct-", "key type: service account key"),
    "admin": ("sk-admin-", "key type: admin key"),
    "legacy-user": ("sk-", "key type: user key"),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_status_names_the_key_type_without_a_byte_of_the_key(nb, session, monkeypatch, kind):
    prefix, says = KINDS[kind]
    secret = "Qz7Xw2Vb9Nm4Lk8Jh3Gf6Ds1Pa5Ro0TyUiEeWq"
    monkeypatch.setenv("KIND_TEST_KEY", prefix + secret)
    nb.run("%openai key --env KIND_TEST_KEY")
    lines = nb.run("%openai status").stdout.splitlines()
    (line,) = [line for line in lines if line.startswith("key type:")]
    assert line.startswith(says)
    assert not any(secret[i:i + 3] in line for i in range(len(secret) - 2)), line
    assert ("project key (platform.openai.com/api-keys)" in line) == (kind == "legacy-user")
    shown, hidden = "\n".join(lines), secret[:-4]  # the key line's mask keeps the last 4 characters
    assert not any(hidden[i:i + 4] in shown for i in range(len(hidden) - 3))


def test_status_without_an_openai_key_has_no_key_type(nb, session):
    session.configure(api_key=None)
    assert "key type" not in nb.run("%openai status").stdout
