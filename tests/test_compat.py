"""Compatible servers: each quirk a real server shows, reproduced by the offline server, gives the user one
clear line or a correct, marked result, and nothing wrong is kept (threads, cache, ledger)."""
import re

import numpy as np
import pytest

from openai_magics.offline.api.embeddings import vectors as server_vectors

MODEL = "text-embedding-3-small"
TEXTS = "%%embed -o e\na cat sat on the mat\nthe stock market fell\nrivers of Europe\n"


def one_line(ran, *fragments):
    """The cell failed with one line (stdout for CallFailed, stderr for UsageError), no traceback."""
    shown = re.sub(r"\x1b\[[0-9;]*m", "", ran.stdout + ran.stderr).strip()  # the heading is in colour
    assert ran.error is not None, shown
    assert "Traceback" not in shown and len(shown.splitlines()) == 1, shown
    for fragment in fragments:
        assert fragment in shown, shown
    return shown


def posts(offline, suffix):
    return [r for r in offline.requests if r.method == "POST" and r.path.endswith(suffix)]


# --- embeddings ----------------------------------------------------------------------------------

def test_per_token_embeddings_are_refused_in_one_line_and_nothing_is_kept(nb, session, offline):
    offline.behave_like("per_token_embeddings")
    ran = nb.run(TEXTS)
    one_line(ran, "one vector per token", "--pool mean")
    assert "e" not in nb.ns
    offline.reset()
    assert nb.run(TEXTS).error is None
    assert len(posts(offline, "/embeddings")) == 1, "a refused answer was kept in the session's vectors"
    assert nb.ns["e"].vectors.shape == (3, 1536)


def test_per_token_embeddings_mean_pooled_when_asked(nb, offline):
    offline.behave_like("llama.cpp")
    ran = nb.run(TEXTS.replace("-o e", "-o e --pool mean"))
    assert ran.error is None
    e = nb.ns["e"]
    assert e.vectors.shape == (3, 64) and np.allclose(np.linalg.norm(e.vectors, axis=1), 1, atol=1e-5)
    assert "a cat sat on the mat" in str(e.search("a cat on a mat", k=1))


@pytest.mark.parametrize("quirk, says", [
    ("missing_vectors", "has 2 vectors for 3 texts"),
    ("ragged_vectors", "vectors of different lengths"),
])
def test_wrong_vector_counts_and_lengths_are_one_line(nb, offline, quirk, says):
    offline.behave_like(quirk)
    one_line(nb.run(TEXTS), says, "nothing was kept")
    offline.reset()
    assert nb.run(TEXTS).error is None
    assert len(posts(offline, "/embeddings")) == 1, "a refused answer was kept in the session's vectors"


def test_vectors_out_of_order_are_put_back_by_index(nb, offline):
    offline.behave_like("shuffled_vectors")
    assert nb.run(TEXTS).error is None
    e = nb.ns["e"]
    assert np.allclose(e.vectors, server_vectors(e.texts, 1536), atol=1e-6)


def test_negative_embedding_usage_is_refused_and_counted_here(nb, session, offline):
    offline.behave_like("negative_usage")
    assert nb.run(TEXTS).error is None
    [record] = session.ledger.records
    assert record.estimated and record.usage.input_tokens > 0 and (record.cost or 0) >= 0


# --- what retrying cannot fix --------------------------------------------------------------------

def test_schema_refused_with_a_validation_500_is_not_retried(nb, offline):
    offline.behave_like("validation_as_500")
    nb.ns["Point"] = {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"],
                      "additionalProperties": False}
    ran = nb.run("%%chat --schema Point\nA point, in JSON.")
    one_line(ran, "does not support structured outputs", "drop --schema", "--json")
    assert [r.status for r in posts(offline, "/chat/completions")] == [500]


def test_responses_api_missing_says_use_api_chat(nb, offline):
    offline.behave_like("no_responses")
    ran = nb.run("%chat --api responses hi")
    one_line(ran, "no Responses API", "--api chat")
    assert len(posts(offline, "/responses")) == 1


def test_a_plain_500_is_still_retried(nb, offline):
    offline.fail(500, times=1)
    assert nb.run("%chat hi").error is None
    assert [r.status for r in posts(offline, "/chat/completions")] == [500, 200]


# --- price worlds ---------------------------------------------------------------------------------

def test_a_compatible_endpoint_is_priced_unknown_and_says_what_it_serves(nb, session, offline):
    offline.behave_like("echo_model")
    ran = nb.run(f"%openai endpoint {offline.base_url}")
    assert "prices:   unknown on this endpoint" in ran.stdout and "--bills openai" in ran.stdout
    assert "the default chat model gpt-4o-mini is not served here (it serves gemma-3-1b-it)" in ran.stdout
    assert "the default embed model text-embedding-3-small is not served here" in ran.stdout
    chat = nb.run("%chat --no-stream hi")
    assert chat.error is None and "price unknown" in chat.result.usage_line
    [record] = session.ledger.records
    assert record.model == "gpt-4o-mini" and record.cost is None, "a local model echoing an OpenAI name was charged"
    assert "(+1 at unknown prices)" in nb.run("%openai status").stdout
    nb.run("%openai budget 0.01")
    one_line(nb.run("%chat hi"), "price of gpt-4o-mini is unknown")


def test_an_endpoint_that_bills_like_openai_is_priced_by_its_table(nb, session, offline):
    ran = nb.run(f"%openai endpoint {offline.base_url} --bills openai")
    assert "OpenAI's (you said this endpoint bills like OpenAI)" in ran.stdout
    assert "models:   serves" in ran.stdout
    nb.run("%chat hi")
    assert session.ledger.records[-1].cost > 0


def test_headless_runs_say_it_bills_like_openai_in_the_environment():
    from openai_magics.core.config import Config

    config = Config.from_env({"OPENAI_BASE_URL": "http://proxy.local/v1", "OPENAI_MAGICS_BILLS": "openai"})
    assert config.bills_like_openai
    assert not Config.from_env({"OPENAI_BASE_URL": "http://proxy.local/v1"}).bills_like_openai


def test_a_price_the_user_sets_prices_a_local_model(nb, session, offline):
    offline.any_model = True  # rehearsing a server that serves its own models
    nb.run(f"%openai endpoint {offline.base_url}")
    one_line(nb.run("%openai price gemma-3-1b-it cheap"), "two amounts in USD per million tokens")
    shown = nb.run("%openai price gemma-3-1b-it 1 2").stdout
    assert "input $1" in shown and "output $2" in shown
    nb.run("%chat -m gemma-3-1b-it --no-stream hi")
    record = session.ledger.records[-1]
    expected = (record.usage.input_tokens * 1 + record.usage.output_tokens * 2) / 1_000_000
    assert float(record.cost) == pytest.approx(expected)


def test_token_counts_for_a_model_with_its_own_tokenizer_are_marked_estimates(nb):
    shown = str(nb.run("%tokens -m gemma-3-1b-it Hello there, how are you?").result)
    assert shown.startswith("≈") and "gemma-3-1b-it has its own" in shown
    assert not str(nb.run("%tokens -m gpt-4o-mini Hello there").result).startswith("≈")


def test_the_offline_server_bills_like_openai_and_says_so(nb, session):
    ran = nb.run("%openai offline")
    assert "costs show what OpenAI would bill" in ran.stdout
    assert "as OpenAI bills" in nb.run("%openai status").stdout
    nb.run("%chat hi")
    assert session.ledger.records[-1].cost > 0


# --- chat answers ---------------------------------------------------------------------------------

def thread_turns(nb, name):
    from openai_magics.chat.threads import Threads
    from openai_magics.core.session import session

    return {t.name: t for t in session().part(Threads)}.get(name)


@pytest.mark.parametrize("quirk", ["empty_stream", "stream_as_json"])
@pytest.mark.parametrize("cell", ["%%chat --thread t\nhi", "%%chat --json --thread t\nAnswer in JSON."])
def test_a_stream_with_no_answer_is_one_line_and_stored_nowhere(nb, session, offline, tmp_path, quirk, cell):
    nb.run(f"%openai cache on {tmp_path / 'c.sqlite'}")
    offline.behave_like(quirk)
    one_line(nb.run(cell), "ended the stream without sending an answer", "nothing was stored")
    assert thread_turns(nb, "t") is None or thread_turns(nb, "t").turns == []
    offline.reset()
    assert nb.run(cell).error is None, "an empty answer was cached"
    assert len(posts(offline, "/chat/completions")) == 1
    nb.run("%openai cache off")


@pytest.mark.parametrize("cell", ["%chat --no-stream hi", "%chat hi", "%%chat --json --no-stream\nIn JSON.",
                                  "%%chat --json\nIn JSON."])
def test_no_choices_is_one_line(nb, session, offline, cell):
    offline.behave_like("empty_choices")
    one_line(nb.run(cell), "nothing was stored")


def test_a_thread_keeps_answers_cut_at_the_token_limit_marked(nb, offline):
    for n in range(3):
        ran = nb.run(f"%%chat --max-tokens 5 --thread t1\nQuestion {n}", cell_id=f"c{n}")
        assert "token limit" in ran.result.incomplete
    assert len(thread_turns(nb, "t1").turns) == 3
    assert "t1: 3 turns (3 cut at the token limit)" in nb.run("%openai threads").stdout
    history = posts(offline, "/chat/completions")[-1].body["messages"]
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant", "user"]


def test_tool_calls_nobody_asked_for_are_not_run(nb, offline):
    offline.behave_like("unasked_tool_calls")
    ran = nb.run("%%chat --json --no-stream -o answer\nAnswer in JSON.")
    assert ran.error is None and nb.ns["answer"] == {"answer": "Answer in JSON.", "offline": True}
    assert len(posts(offline, "/chat/completions")) == 1
    plain = nb.run("%chat --no-stream hi")
    assert plain.error is None and plain.result.text.startswith("### Offline answer")


def test_negative_chat_usage_is_refused_and_estimated(nb, session, offline):
    offline.behave_like("negative_usage")
    for cell in ("%chat --no-stream hi", "%chat hi", "%%chat --json --no-stream\nIn JSON."):
        ran = nb.run(cell)
        assert ran.error is None and "≈" in ran.result.usage_line
    assert all(r.estimated and r.cost >= 0 for r in session.ledger.records)


def test_streams_without_usage_are_estimated_and_marked(nb, session, offline):
    offline.behave_like("no_stream_usage")
    ran = nb.run("%chat hi")
    assert ran.error is None and "≈" in ran.result.usage_line and session.ledger.records[-1].estimated


def test_a_non_streamed_generation_that_times_out_is_never_asked_twice(nb, session, offline):
    session.configure(timeout=0.3)
    offline.latency = 1.0
    one_line(nb.run("%chat --no-stream Write a long answer"), "not retried")
    assert len(posts(offline, "/chat/completions")) == 1, "a generation that timed out was asked again"


# --- the Responses API in full ---------------------------------------------------------------------

WEATHER = '''
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"
'''


def usage_of(record):
    u = record.usage
    return (record.magic, record.model, u.input_tokens, u.output_tokens, u.images, record.estimated, record.cost)


@pytest.mark.parametrize("cell", [
    "%%chat --json{api}\nAnswer in JSON.",
    "%%chat --tools get_weather{api}\nWhat is the weather in Paris?",
    "%%chat --tools get_weather --no-stream{api}\nWhat is the weather in Paris?",
    "%%chat --image img --detail low{api}\nWhat is in the picture?",
])
def test_both_apis_give_the_same_result_and_ledger_row(nb, session, offline, cell):
    from PIL import Image

    nb.run(WEATHER)
    nb.ns["img"] = Image.new("RGB", (600, 400), "white")
    chat = nb.run(cell.format(api=" --api chat --no-cache"))
    responses = nb.run(cell.format(api=" --api responses --no-cache"))
    assert chat.error is None and responses.error is None, responses.text
    assert responses.result.api == "responses" and chat.result.api == "chat"
    assert responses.result.text == chat.result.text and responses.result.parsed == chat.result.parsed
    assert [c.result for c in responses.result.tool_calls] == [c.result for c in chat.result.tool_calls]
    first, second = session.ledger.records
    assert usage_of(first) == usage_of(second)


def test_responses_wire_format_for_schema_tools_and_images(nb, offline):
    from PIL import Image

    nb.run(WEATHER)
    nb.ns["img"] = Image.new("RGB", (32, 32), "white")
    nb.ns["Point"] = {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"],
                      "additionalProperties": False}
    assert nb.run("%%chat --api responses --schema Point -o p\nA point.").error is None
    assert nb.ns["p"] == {"x": 3.5}
    fmt = posts(offline, "/responses")[-1].body["text"]["format"]
    assert fmt == {"type": "json_schema", "name": "Point", "schema": nb.ns["Point"], "strict": True}
    nb.run("%%chat --api responses --tools get_weather\nWeather in Paris?")
    first, second = [r.body for r in posts(offline, "/responses")[-2:]]
    assert first["tools"][0]["name"] == "get_weather" and first["tools"][0]["strict"] is True
    assert second["previous_response_id"].startswith("resp_")
    assert second["input"][0]["type"] == "function_call_output" and second["input"][0]["output"] == "sunny in Paris"
    nb.run("%%chat --api responses --image img\nWhat is it?")
    image = posts(offline, "/responses")[-1].body["input"][0]["content"][1]
    assert image["type"] == "input_image" and image["image_url"].startswith("data:image/png;base64,")
    assert all(r.status == 200 for r in posts(offline, "/responses")), "a body the OpenAPI document refuses"


@pytest.mark.parametrize("stream", ["", " --no-stream"])
def test_reasoning_summaries_are_shown(nb, offline, stream):
    ran = nb.run(f"%%chat -m o4-mini --summary{stream}\nWhy is the sky blue?")
    assert ran.error is None and ran.result.api == "responses"
    assert ran.result.reasoning_summary.startswith("**Reading the question**")
    assert "Reasoning summary:" in ran.outputs[-1]["text/markdown"]
    assert posts(offline, "/responses")[-1].body["reasoning"] == {"summary": "auto"}
    one_line(nb.run("%%chat --api chat --summary\nhi"), "--summary comes with the Responses API")


def test_responses_threads_continue_by_previous_response_id_with_tools(nb, offline):
    nb.run(WEATHER)
    nb.run("%%chat --api responses --thread w --tools get_weather\nWeather in Paris?", cell_id="w1")
    ran = nb.run("%%chat --api responses --thread w\nAnd what did the tool say?", cell_id="w2")
    assert ran.error is None
    body = posts(offline, "/responses")[-1].body
    assert body["previous_response_id"].startswith("resp_") and len(body["input"]) == 1


@pytest.mark.parametrize("feature", ["--schema Point", "--json", "--tools get_weather", "--image img"])
def test_auto_picks_the_responses_api_on_openais_endpoint_for_every_feature(nb, session, feature):
    from PIL import Image

    nb.run(WEATHER)
    nb.ns["img"] = Image.new("RGB", (8, 8))
    nb.ns["Point"] = {"type": "object", "properties": {"x": {"type": "number"}}}
    session.configure(base_url=None)
    ran = nb.run(f"%%chat --dry-run {feature}\nAnswer in JSON.")
    assert ran.error is None and ran.result.api == "responses", ran.text


# --- Azure OpenAI ---------------------------------------------------------------------------------

def test_azure_deployment_urls_and_api_version(nb, session, offline, monkeypatch):
    monkeypatch.setenv("AZURE_TEST_KEY", "azure-test-key-1234567890")
    root = offline.base_url.rsplit("/v1", 1)[0]
    shown = nb.run(f"%openai endpoint {root} --azure --api-version 2024-10-21 --key-env AZURE_TEST_KEY "
                   "--bills openai").stdout
    assert "deployments named by the model" in shown and "2024-10-21" in shown
    chat = nb.run("%chat -m gpt-4o-mini hi")
    streamed = nb.run("%chat -m gpt-4o-mini --no-stream hi")
    assert chat.error is None and streamed.error is None and chat.result.text == streamed.result.text
    embedded = nb.run("%embed -m text-embedding-3-small a cat")
    assert embedded.error is None and embedded.result.vectors.shape == (1, 1536)
    paths = [r.path for r in offline.requests if r.method == "POST"]
    assert paths[0] == "/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21"
    assert paths[-1] == "/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21"
    assert all(r.status == 200 for r in offline.requests) and len(session.ledger) == 3
    assert all(r.cost > 0 for r in session.ledger.records)
    responses = nb.run("%chat --api responses -m gpt-4o-mini hi")
    assert responses.error is None and offline.requests[-1].path == "/openai/responses?api-version=2024-10-21"


def test_an_azure_path_without_api_version_is_refused_like_azure(offline):
    import json
    import urllib.request

    root = offline.base_url.rsplit("/v1", 1)[0]
    request = urllib.request.Request(f"{root}/openai/deployments/gpt-4o-mini/chat/completions",
                                     data=json.dumps({"messages": [{"role": "user", "content": "hi"}]}).encode(),
                                     headers={"api-key": "k", "Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 400 and b"api-version" in refused.value.read()


# --- llama-cpp-python and LiteLLM in front of it --------------------------------------------------

CITY = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"],
        "additionalProperties": False}
LONG_PROMPT = "Summarise this. " + "The river runs past the old mill and on to the sea. " * 250  # > 2,048 tokens


def root_of(offline):
    return offline.base_url.rsplit("/v1", 1)[0]


def raw_chat(offline, body):
    """(status, JSON body) of one request sent by hand, as the server answers it."""
    import json
    import urllib.request

    request = urllib.request.Request(f"{offline.base_url}/chat/completions", data=json.dumps(body).encode(),
                                     headers={"Authorization": "Bearer k", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_the_llama_cpp_profile_refuses_json_schema_in_its_own_words(offline):
    offline.behave_like("llama.cpp")
    fmt = {"type": "json_schema", "json_schema": {"name": "City", "schema": CITY}}
    status, body = raw_chat(offline, {"model": "gpt-4o-mini", "response_format": fmt,
                                      "messages": [{"role": "user", "content": "A city."}]})
    assert status == 500 and body["error"]["type"] == "internal_server_error"
    message = body["error"]["message"]
    assert "1 validation error" in message and "Input should be 'text' or 'json_object'" in message
    assert "'input': 'json_schema'" in message


@pytest.mark.parametrize("profile, heading", [("llama.cpp", "Server error"), ("litellm", "LiteLLM error")])
def test_schema_refused_by_llama_cpp_names_structured_outputs_not_json_mode(nb, session, offline, profile, heading):
    offline.behave_like(profile)
    nb.ns["City"] = CITY
    shown = one_line(nb.run("%%chat --schema City\nA city, in JSON."), f"{heading} ({root_of(offline)}):",
                     "does not support structured outputs (json_schema): drop --schema, or use --json")
    assert "drop --json." not in shown and "OpenAI error" not in shown
    assert [r.status for r in posts(offline, "/chat/completions")] == [500], "a refusal was retried"
    assert session.ledger.records == []
    assert nb.run("%%chat --json\nA city, in JSON.").error is None, "llama.cpp does JSON mode"


def test_json_mode_refused_still_says_drop_json(nb, offline):
    offline.fail(500, message="1 validation error: response_format json_object is not supported")
    one_line(nb.run("%%chat --json\nIn JSON."), "does not support JSON mode", "drop --json")


def test_an_answer_cut_at_the_cells_own_max_tokens_is_cached_marked_as_cut(nb, session, offline, tmp_path):
    nb.run(f"%openai cache on {tmp_path / 'c.sqlite'}")
    cell = "%%chat -t 0 --max-tokens 20\nWrite a long story about a lighthouse."
    first, again = nb.run(cell), nb.run(cell)
    assert len(posts(offline, "/chat/completions")) == 1, "the cut answer was asked again"
    assert again.result.text == first.result.text
    assert again.result.incomplete == first.result.incomplete == "it stopped at the token limit (20)"
    assert "⚠ Incomplete answer: it stopped at the token limit (20)." in again.stdout + again.text
    paid, hit = session.ledger.records
    assert paid.cost > 0 and hit.cache_hit and hit.cost == 0 and "$0 (cached)" in again.result.usage_line
    nb.run("%openai cache off")


def test_an_answer_cut_by_a_dropped_stream_is_not_cached(nb, session, offline, tmp_path):
    nb.run(f"%openai cache on {tmp_path / 'c.sqlite'}")
    offline.cut_stream(after_chunks=3)
    cell = "%%chat -t 0 --max-tokens 20\nWrite a long story about a lighthouse."
    assert "stream was cut" in nb.run(cell).result.incomplete
    assert nb.run(cell).result.incomplete == "it stopped at the token limit (20)"
    assert len(posts(offline, "/chat/completions")) == 2, "a cut stream was cached"
    assert nb.run(cell).result.record.cache_hit
    nb.run("%openai cache off")


@pytest.mark.parametrize("cell", ["%%chat -t 0 --thread t\n" + LONG_PROMPT,
                                  "%%chat -t 0 --json --thread t\nIn JSON. " + LONG_PROMPT])
def test_litellms_rewrite_of_an_empty_stream_says_the_prompt_may_be_too_long(nb, session, offline, tmp_path, cell):
    nb.run(f"%openai cache on {tmp_path / 'c.sqlite'}")
    offline.behave_like("litellm")
    one_line(nb.run(cell), "nothing in it and no usage", "prompt is too long for them", "nothing was stored")
    assert len(posts(offline, "/chat/completions")) == 1
    assert session.ledger.records == [], "an estimated input row for a prompt the server never read"
    assert thread_turns(nb, "t") is None or thread_turns(nb, "t").turns == []
    one_line(nb.run(cell), "nothing in it and no usage")
    assert len(posts(offline, "/chat/completions")) == 2, "the empty answer was replayed from the cache"
    assert nb.run(cell.replace(LONG_PROMPT, "Short.")).error is None
    nb.run("%openai cache off")


def test_litellm_sends_stream_usage_of_its_own(nb, session, offline):
    offline.behave_like("litellm")
    ran = nb.run("%chat hi")
    assert ran.error is None and "≈" not in ran.result.usage_line and not session.ledger.records[-1].estimated


@pytest.mark.parametrize("profile, heading", [("llama.cpp", "Server error"), ("litellm", "LiteLLM error")])
def test_an_over_long_prompt_not_streamed_shows_the_servers_message_whole(nb, session, offline, profile, heading):
    offline.behave_like(profile)
    shown = one_line(nb.run("%%chat --no-stream -m gemma-3-1b-it\n" + LONG_PROMPT),
                     f"{heading} ({root_of(offline)}): The prompt is too long for gemma-3-1b-it: "
                     "This model's maximum context length is 2048 tokens. However, you requested",
                     "in the messages, None in the completion). Please reduce the length of the messages or "
                     "completion. Shorten it")
    assert "litellm." not in shown and "…" not in shown and ".." not in shown
    assert len(posts(offline, "/chat/completions")) == 1 and session.ledger.records == []


def test_a_stream_too_long_for_llama_cpp_is_one_line(nb, session, offline):
    offline.behave_like("llama.cpp")
    one_line(nb.run("%%chat\n" + LONG_PROMPT), "ended the stream without sending an answer", "shorten it")
    assert session.ledger.records == [] and len(posts(offline, "/chat/completions")) == 1


def test_error_lines_name_whose_error_it_is(nb, session, offline):
    from openai_magics.core.config import Config
    from openai_magics.core.errors import CallFailed, error_source

    assert error_source(Config()) == "OpenAI"  # OpenAI's own endpoint keeps its heading
    assert CallFailed("x", source=error_source(Config(base_url="https://api.openai.com/v1"))).heading == "OpenAI error:"
    assert error_source(Config(base_url="https://me.openai.azure.com")) == "Azure OpenAI"
    assert error_source(Config(base_url="http://me:sk-secret@proxy.local/v1?key=k")) == "http://proxy.local"
    offline.fail(400, message="Refused on purpose.")
    one_line(nb.run("%chat hi"), f"Server error ({root_of(offline)}): The request was refused (400): Refused on purpose.")
    session.configure(offline=True)
    offline.fail(400, message="Refused on purpose.")
    one_line(nb.run("%chat hi"), "Offline server error: The request was refused (400)")


def test_a_server_that_ignores_tools_says_no_tool_was_called(nb, offline):
    nb.run(WEATHER)
    called = nb.run("%%chat --tools get_weather\nWhat is the weather in Paris?")
    assert called.result.tool_calls and "no tool was called" not in called.result.usage_line
    offline.behave_like("llama.cpp")
    for stream in ("", " --no-stream"):
        ran = nb.run(f"%%chat --tools get_weather{stream}\nWhat is the weather in Paris?")
        assert ran.error is None and ran.result.tool_calls == []
        assert ran.result.usage_line.endswith("· no tool was called"), ran.result.usage_line
    assert all(r.body.get("tools") for r in posts(offline, "/chat/completions"))


def test_a_cache_hit_of_unknown_price_says_so_not_saved_nothing(nb, session, offline, tmp_path):
    offline.any_model = True  # a compatible server's own model
    nb.run(f"%openai endpoint {offline.base_url}")
    nb.run(f"%openai cache on {tmp_path / 'c.sqlite'}")
    nb.run("%chat -t 0 -m gemma-3-1b-it hi")
    nb.run("%chat -t 0 -m gemma-3-1b-it hi")
    assert session.ledger.records[-1].cache_hit and session.ledger.records[-1].saved is None
    table = nb.run("%openai usage").outputs[-1]["text/plain"]
    assert "hit, saved (price unknown)" in table and "saved $0" not in table
    assert "saved (price unknown)" in nb.run("%openai cache stats").stdout
    nb.run("%openai cache off")
