"""The offline server over real HTTP: routes with ids, multipart uploads, binary answers, rate limits, faults."""
import json
import time

import httpx
import openai
import pytest

from conftest import TEST_KEY

EVERY_BYTE = bytes(range(256)) * 64 + b"\r\n--not-a-boundary\r\n\r\n" + bytes(range(255, -1, -1))
AUTH = {"Authorization": f"Bearer {TEST_KEY}"}


def client(offline, **options):
    return openai.OpenAI(base_url=offline.base_url, api_key=TEST_KEY, **options)


# --- files: multipart in, binary out, ids in the path --------------------------------------------

def test_upload_list_retrieve_download_delete(offline):
    sdk = client(offline)
    uploaded = sdk.files.create(file=("data.bin", EVERY_BYTE, "application/octet-stream"), purpose="batch")
    assert uploaded.filename == "data.bin" and uploaded.bytes == len(EVERY_BYTE) and uploaded.purpose == "batch"
    assert offline.requests[-1].files["file"].data == EVERY_BYTE
    assert uploaded.id in [f.id for f in sdk.files.list()]
    assert sdk.files.retrieve(uploaded.id).filename == "data.bin"
    assert sdk.files.content(uploaded.id).content == EVERY_BYTE  # byte-exact, through the SDK's binary path
    deleted = sdk.files.delete(uploaded.id)
    assert deleted.deleted and deleted.id == uploaded.id
    assert [r.method for r in offline.requests[-2:]] == ["GET", "DELETE"]
    with pytest.raises(openai.NotFoundError, match=f"No such File object: {uploaded.id}"):
        sdk.files.retrieve(uploaded.id)


def test_list_filters_by_purpose_and_pages(offline):
    sdk = client(offline)
    ids = [sdk.files.create(file=(f"f{i}.jsonl", b"{}\n"), purpose="fine-tune").id for i in range(3)]
    page = sdk.files.list(purpose="fine-tune", limit=2, order="asc", extra_query={})
    listed = [f.id for f in page.data]
    assert listed == [i for i in ids if i in listed] and len(listed) == 2 and page.has_more


def test_nested_form_fields_are_typed_by_the_schema(offline):
    uploaded = client(offline).files.create(file=("a.jsonl", b"{}\n"), purpose="batch",
                                            expires_after={"anchor": "created_at", "seconds": 3600})
    assert uploaded.expires_at == uploaded.created_at + 3600
    assert offline.requests[-1].body["expires_after"] == {"anchor": "created_at", "seconds": "3600"}


def test_a_missing_form_field_is_a_400_that_names_it(offline):
    answer = httpx.post(f"{offline.base_url}/files", headers=AUTH, files={"file": ("a.jsonl", b"{}\n")})
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "Invalid request body: Missing required parameter: 'purpose'."
    wrong = httpx.post(f"{offline.base_url}/files", headers=AUTH, files={"file": ("a.jsonl", b"{}\n")},
                       data={"purpose": "lunch"})
    assert wrong.status_code == 400 and "'lunch' is not one of" in wrong.json()["error"]["message"]
    no_file = httpx.post(f"{offline.base_url}/files", headers=AUTH, files={"purpose": (None, "batch")})
    assert no_file.status_code == 400 and "'file'" in no_file.json()["error"]["message"]


def test_unknown_paths_and_methods_are_404s(offline):
    assert httpx.get(f"{offline.base_url}/nowhere", headers=AUTH).status_code == 404
    answer = httpx.delete(f"{offline.base_url}/chat/completions", headers=AUTH)
    assert answer.status_code == 404 and "DELETE /v1/chat/completions" in answer.json()["error"]["message"]


def test_a_body_that_is_not_json_is_a_400(offline):
    answer = httpx.post(f"{offline.base_url}/chat/completions", headers=AUTH, content=b"{not json")
    assert answer.status_code == 400 and "could not parse the JSON body" in answer.json()["error"]["message"]


# --- rate limits --------------------------------------------------------------------------------

LIMIT_HEADERS = ["x-ratelimit-limit-requests", "x-ratelimit-limit-tokens", "x-ratelimit-remaining-requests",
                 "x-ratelimit-remaining-tokens", "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"]


def test_every_answer_carries_rate_limit_headers(offline):
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    answers = [httpx.post(f"{offline.base_url}/chat/completions", headers=AUTH, json=body),
               httpx.post(f"{offline.base_url}/chat/completions", headers=AUTH, json={**body, "stream": True}),
               httpx.get(f"{offline.base_url}/models", headers=AUTH),
               httpx.get(f"{offline.base_url}/files/file-missing", headers=AUTH)]
    for answer in answers:
        assert all(name in answer.headers for name in LIMIT_HEADERS), answer.headers


def test_enforced_limits_refuse_a_burst_with_retry_after_and_count_down(offline):
    offline.enforce_limits(requests=3, requests_per=3)  # a burst of three, then one a second
    burst = [httpx.get(f"{offline.base_url}/models", headers=AUTH) for _ in range(5)]
    assert [a.status_code for a in burst] == [200, 200, 200, 429, 429]
    remaining = [int(a.headers["x-ratelimit-remaining-requests"]) for a in burst[:3]]
    assert remaining == [2, 1, 0] and burst[0].headers["x-ratelimit-limit-requests"] == "3"
    wait = float(burst[3].headers["retry-after"])
    assert 0 < wait <= 1 and burst[3].headers["x-ratelimit-remaining-requests"] == "0" and burst[3].json()["error"]["code"] == "rate_limit_exceeded"
    time.sleep(wait)
    assert httpx.get(f"{offline.base_url}/models", headers=AUTH).status_code == 200


def test_enforced_token_limit_counts_the_output_asked_for(offline):
    offline.enforce_limits(tokens=1_000)  # per minute
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 600}
    first = httpx.post(f"{offline.base_url}/chat/completions", headers=AUTH, json=body)
    second = httpx.post(f"{offline.base_url}/chat/completions", headers=AUTH, json=body)
    assert first.status_code == 200 and int(first.headers["x-ratelimit-remaining-tokens"]) < 400
    assert second.status_code == 429 and float(second.headers["retry-after"]) > 1


def test_an_enforced_limit_is_waited_for_not_met(nb, offline):
    offline.enforce_limits(requests=1)
    ran = [nb.run("%chat --no-stream hi") for _ in range(2)]
    assert all(r.error is None for r in ran)
    assert [r.status for r in offline.requests] == [200, 200]  # the second waited for room: no 429


# --- faults, as a user sees them ---------------------------------------------------------------

def test_a_request_that_never_answers_times_out_in_one_line(nb, session, offline):
    session.configure(timeout=0.3, max_retries=0)
    offline.hang()
    ran = nb.run("%chat hi")
    assert "no answer started within 0.3 s" in ran.stdout and "Traceback" not in ran.stdout
    assert len(session.ledger) == 0


def test_a_body_that_is_not_json_is_one_line(nb, session, offline):
    session.configure(max_retries=0)
    offline.answer_not_json()
    ran = nb.run("%chat --no-stream hi")
    assert "could not be read (JSONDecodeError" in ran.stdout and "Traceback" not in ran.stdout


def test_an_html_error_page_is_one_line_without_the_html(nb, session, offline):
    session.configure(max_retries=0)
    offline.html_error(502)
    ran = nb.run("%chat hi")
    assert "(502): an HTML page, “502 Bad Gateway”" in ran.stdout and "<html>" not in ran.stdout


def test_a_malformed_stream_keeps_what_arrived(nb, session, offline):
    offline.malformed_stream(after_chunks=4)
    ran = nb.run("%chat hi")
    assert ran.error is None and "stream was cut" in ran.result.incomplete and ran.result.text
    offline.malformed_stream(after_chunks=0)
    broken = nb.run("%chat hi")
    assert "could not be read (JSONDecodeError" in broken.stdout and "Traceback" not in broken.stdout


def test_the_endpoint_table_in_the_docs_lists_every_route():
    """docs/offline-server.md is where a contributor looks for what the server answers: it keeps up."""
    from conftest import ROOT
    from openai_magics.offline import api
    from openai_magics.offline.router import discover

    table = (ROOT / "docs" / "offline-server.md").read_text()
    missing = [f"{r.method} /v1{r.path}" for r in discover(api).routes if f"{r.method} /v1{r.path}`" not in table]
    assert missing == []


# --- token counts: the server's own encoder ---------------------------------------------------------

TRICKY = ["", "  \n\n\t ", "naïve café 🎉 — ünïcödé ½", "東京は日本の首都です。", "don't I'LL we've 's", "3.14159 1e-9 12345678",
          "def f(x):\n    return x ** 2  # squares", "<|endoftext|> is text here", "a" * 300, "🎉" * 40, "\r\n\r\n  \n",
          "Привет мир! Ελληνικά, עברית, العربية, हिन्दी", "ＡＢＣ　全角", "👩‍👩‍👧‍👦 zwj", "\u0301\u0301combining"]


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_the_servers_own_encoder_gives_tiktokens_tokens(name):
    """The server streams and counts a short text with its own Python encoder until tiktoken's is built (a fresh
    kernel's first answer does not wait ~130 ms of CPU for it): the same tokens, byte for byte."""
    import tiktoken

    from conftest import ROOT
    from openai_magics.offline.tokens import SHORT_TEXT, BytePairEncoder

    encoding = tiktoken.get_encoding(name)
    encoder = BytePairEncoder(encoding._pat_str, encoding._mergeable_ranks)
    cells = [cell for path in sorted((ROOT / "notebooks").glob("*.ipynb")) for cell in json.loads(path.read_text())["cells"]]
    shown = [output.get("text") or (output.get("data") or {}).get("text/markdown") or ""
             for cell in cells for output in cell.get("outputs", [])]
    texts = TRICKY + (ROOT / "README.md").read_text().split("\n\n") + ["".join(cell["source"]) for cell in cells] + [
        "".join(text) for text in shown]  # the prompts and the offline answers the notebooks show
    texts = [text for text in texts if len(text) <= SHORT_TEXT]  # a longer text is always tiktoken's to encode
    assert len(texts) > 500
    for text in texts:
        assert encoder.encode(text) == encoding.decode_tokens_bytes(encoding.encode(text, disallowed_special=())), text


def test_a_character_newer_than_pythons_unicode_tables_is_counted_by_tiktoken():
    """U+1ADB is a mark to the `regex` module and unassigned to tiktoken's tables, which split "\\n \\n" after
    it differently: such a text is left to tiktoken's encoder, and the count stays tiktoken's."""
    import tiktoken

    from openai_magics.offline.tokens import _settled, count

    text = "\u1adb\n \n"
    assert not _settled(text) and _settled("naïve café 🎉 東京") and _settled("plain")
    assert count(text, "gpt-4o-mini") == len(tiktoken.get_encoding("o200k_base").encode(text)) == 5


def test_a_validator_process_whose_document_cannot_be_read_answers_one_line_500s(tmp_path):
    """The child `%openai offline`'s server validates in cannot read the document, nor can the server itself
    then: each request gets the server's one-line 500 naming the document, as a server validating in its own
    process says it."""
    from openai_magics.offline import OfflineServer

    document = tmp_path / "openapi.json"
    document.write_text("{ not json")
    with OfflineServer(openapi=document, validate_apart=True) as server:
        sdk = client(server, max_retries=0)
        for _ in range(2):
            with pytest.raises(openai.InternalServerError) as err:
                sdk.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
            assert f"The offline server failed: the OpenAPI document {document} could not be read (JSONDecodeError" in str(err.value)
