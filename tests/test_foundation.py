"""The foundation: loading, the session, %openai, and the offline server's contract."""
import os
import subprocess
import sys
import time

import openai
import pytest

from conftest import ROOT, TEST_KEY


def test_load_ext_imports_nothing_heavy():
    code = (
        "import sys, time\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "sh = InteractiveShell.instance()\n"
        "sh.run_line_magic('load_ext', 'openai_magics')\n"
        "heavy = ['openai', 'ipywidgets', 'anywidget', 'numpy', 'pandas', 'PIL', 'genai_prices', 'pydantic', 'tiktoken']\n"
        "print([m for m in heavy if m in sys.modules])\n"
        "print(sorted(sh.magics_manager.magics['cell']))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    loaded, cell_magics = out.splitlines()
    assert loaded == "[]"
    assert "chat" in cell_magics and "tokens" in cell_magics


def test_offline_loads_what_the_first_answer_needs_while_the_next_cell_is_written(monkeypatch):
    """`%openai offline` returns before the OpenAPI document is read, then loads it and the server's token
    encoder (in a process of its own, on the other core), the SDK and its chat resource behind the prompt, so
    the first `%%chat` waits for none of them; tiktoken's encoder, which neither the server's first answer nor
    its usage line needs, is never built, nor tiktoken or jsonschema imported, nor the ranks read in the kernel:
    the counts are still tiktoken's. Nor are the other `%openai` groups (batches, fine-tuning) imported."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    code = (
        "import sys, threading\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "sh = InteractiveShell.instance()\n"
        "sh.run_line_magic('load_ext', 'openai_magics')\n"
        "sh.run_line_magic('openai', 'offline')\n"
        "for t in threading.enumerate():\n"
        "    if t.name.startswith(('openai-magics-warm-up', 'openai-magics-offline-openapi')): t.join()\n"
        "from openai_magics import session\n"
        "print(session().offline_server.validator is not None)\n"
        "print([m for m in ('openai', 'openai.resources.chat.completions', 'tiktoken', 'jsonschema', 'httpcore2',"
        " 'openai_magics.batch.commands', 'openai_magics.finetune.commands') if m not in sys.modules])\n"
        "from openai_magics.facts import tokens\n"
        "from openai_magics.offline.tokens import _encoders\n"
        "print(sorted(_encoders), len(tokens._built))\n"
        "client = session()._client\n"
        "print(client is not None)\n"
        "answer = sh.run_cell_magic('chat', '--no-stream', 'hi')\n"
        "print(answer.text.splitlines()[0], session()._client is client)\n"
        "print(answer.record.usage.input_tokens, answer.record.usage.output_tokens, len(tokens._built), len(_encoders))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    validating, missing, encoders, built, answer, usage = out.splitlines()[:6]
    assert validating == "True" and missing == str(['tiktoken', 'jsonschema', 'openai_magics.batch.commands', 'openai_magics.finetune.commands']) and encoders == "[] 0"
    assert built == "True"  # the session's own client, which the first answer then uses
    assert "Offline answer" in answer and answer.endswith(" True")
    import tiktoken

    inputs, outputs, built_after, encoders_after = usage.split()
    assert int(inputs) == 3 + 3 + len(tiktoken.get_encoding("o200k_base").encode("user")) + 1  # tiktoken's count of "hi"
    assert int(outputs) > 0 and built_after == encoders_after == "0"


def test_offline_validates_in_a_process_of_its_own_that_ends_with_the_kernel(monkeypatch, tmp_path):
    """The server `%openai offline` starts validates requests and encodes short texts in a child process (their
    loading runs on the other core while the kernel imports the SDK): the same one-line 400s, multipart forms
    typed as before, tiktoken's counts; should the child die, the server validates and encodes in the kernel
    again; and the child ends when the kernel is killed."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    code = (
        "import os, signal, sys, openai\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "sh = InteractiveShell.instance()\n"
        "sh.run_line_magic('load_ext', 'openai_magics')\n"
        "sh.run_line_magic('openai', 'offline')\n"
        "from openai_magics import session\n"
        "server = session().offline_server\n"
        "sdk = openai.OpenAI(base_url=server.base_url, api_key='sk-x', max_retries=0)\n"
        "def refused(**extra):\n"
        "    try:\n"
        "        sdk.chat.completions.create(model='gpt-4o-mini', messages=[{'role': 'user', 'content': 'x'}], **extra)\n"
        "    except openai.BadRequestError as e:\n"
        "        return e.body['message']\n"
        "print(refused(temperature=5))\n"
        "print(sdk.files.create(file=('d.jsonl', b'{}\\n'), purpose='batch').filename)\n"
        "try:\n"
        "    sdk.files.create(file=('d.jsonl', b'{}\\n'), purpose='wizard')\n"
        "except openai.BadRequestError as e:\n"
        "    print(e.body['message'])\n"
        "from openai_magics.offline.tokens import _encoders\n"
        "def counted():\n"
        "    usage = sdk.chat.completions.create(model='gpt-4o-mini', messages=[{'role': 'user', 'content': 'hi'}]).usage\n"
        "    return f'{usage.prompt_tokens} {sorted(_encoders)}'\n"
        "print(counted(), server.validator._child.pid, 'jsonschema' in sys.modules, flush=True)\n"
        "server.validator._child.kill()\n"
        "print(refused(temperature=7), 'jsonschema' in sys.modules, counted())\n"
        "sh.run_line_magic('openai', 'offline')\n"  # the same server, still validating in the kernel
        "server.stop(); server.start(); server.validator\n"
        "print(server.validator._child.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    first, uploaded, form, child, after, restarted = done.stdout.splitlines()[-6:] or [done.stderr[-2000:]]
    assert first == "Invalid request body: temperature: 5 is greater than the maximum of 2"
    assert uploaded == "d.jsonl" and form.startswith("Invalid request body: purpose: 'wizard' is not one of [")
    hi = 3 + 3 + 1 + 1  # tiktoken's count of a user message "hi" (each word one token)
    assert child.startswith(f"{hi} [] ") and child.endswith(" False")  # no ranks, nor jsonschema, in the kernel
    assert after == f"Invalid request body: temperature: 7 is greater than the maximum of 2 True {hi} ['o200k_base']"
    orphan = int(restarted)
    while os.path.exists(f"/proc/{orphan}") and "zombie" not in _state(orphan):
        time.sleep(0.05)  # its input closed with the kernel: it ends (pytest's timeout bounds the wait)


def _state(pid: int) -> str:
    try:
        return open(f"/proc/{pid}/status").read().lower()
    except OSError:
        return "gone"


WARMING = "import threading\nwarming = [t.name for t in threading.enumerate() if t.name == 'openai-magics-warm-up']"


@pytest.mark.parametrize("cells", [["%openai offline", WARMING], [f"%openai offline\n%openai\n{WARMING}"]],
                         ids=["next cell", "next magic of the same cell"])
def test_what_follows_offline_waits_for_the_warm_up_instead_of_importing_beside_it(monkeypatch, cells):
    """The SDK's circular imports break when two threads import it at once (one import fails half done, the other
    finds no `openai` at all): what runs after `%openai offline`, in the next cell or the same one, waits for the
    warm-up's imports to finish, then answers."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    code = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "sh = InteractiveShell.instance()\n"
        "sh.run_line_magic('load_ext', 'openai_magics')\n"
        f"for cell in {cells!r}:\n"
        "    sh.run_cell(cell)\n"
        "print('warming:', sh.user_ns['warming'])\n"
        "sh.run_cell('from pydantic import BaseModel\\nclass Person(BaseModel):\\n    name: str')\n"
        "ran = sh.run_cell('%%chat --schema Person --no-stream\\nWho was Ada?')\n"
        "print('answered:', repr(ran.error_in_exec), repr(ran.result).replace(chr(10), ' '))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    said = dict(line.split(": ", 1) for line in out.stdout.splitlines() if line.startswith(("warming: ", "answered: ")))
    error, _, result = said["answered"].partition(" ")
    assert said["warming"] == "[]", out.stdout
    assert error == "None" and "parsed=Person(name=" in result, out.stdout + out.stderr


def test_a_cell_that_needs_the_sdk_while_the_warm_up_imports_it_waits_for_the_whole_module():
    code = ("import threading, time\nfrom openai_magics.wire.sdk import openai_sdk\n"
            "t = threading.Thread(target=openai_sdk); t.start(); time.sleep(0.01)\n"
            "print(openai_sdk().OpenAI.__name__); t.join()\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout == "OpenAI\n", out.stderr[-500:]  # not a half-imported module


def test_a_magic_is_imported_on_first_use_and_its_help_is_there_before():
    """`%%chat` does not import the other capabilities' magics; `%%image?` shows the full help before any use."""
    code = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "sh = InteractiveShell.instance()\n"
        "sh.run_line_magic('load_ext', 'openai_magics')\n"
        "loaded = lambda: sorted(m.split('.')[-2] for m in sys.modules if m.endswith('.magic') and 'openai_magics' in m)\n"
        "print('loaded', loaded())\n"
        "sh.run_cell('%%chat --dry-run\\nHello')\n"
        "print('loaded', loaded())\n"
        "sh.run_cell('%%image?')\n"
    )
    env = {**os.environ, "OPENAI_API_KEY": TEST_KEY}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                         check=True).stdout
    before, after_chat = [line for line in out.splitlines() if line.startswith("loaded ")]
    assert before == "loaded ['control']"  # %openai only: its settings must answer %config at once
    assert "Dry run" in out and after_chat == "loaded ['chat', 'control']"
    assert "Generate images from the cell's prompt" in out and "--quality QUALITY" in out
    assert "image/magic.py" in out  # the help names the real magic's file


def test_unload_removes_the_magics(ipython):
    ipython.run_line_magic("unload_ext", "openai_magics")
    try:
        assert not {"chat", "eval", "speak"} & set(ipython.magics_manager.magics["cell"])  # made or only declared
    finally:
        ipython.run_line_magic("load_ext", "openai_magics")
    assert "chat" in ipython.magics_manager.magics["cell"]


def test_a_reloaded_extension_answers_config_once(nb):
    """The instance an unload leaves behind must not answer `%config` beside the new one."""
    nb.run("%reload_ext openai_magics")
    try:
        ran = nb.run("%config OpenAIMagics.timeout = -1")
    finally:
        nb.run("%config OpenAIMagics.timeout = None")
    assert ran.stderr.count("nothing changed") == 1


def test_status_masks_the_key(nb):
    ran = nb.run("%openai")
    assert "key:" in ran.stdout and "…" in ran.stdout
    assert TEST_KEY[-4:] in ran.stdout  # the last four characters help tell keys apart


def test_key_never_in_repr_or_config(session):
    assert TEST_KEY not in repr(session) + repr(session.config) + str(session.config.api_key)
    assert TEST_KEY not in str(session.config.as_dict())


@pytest.mark.parametrize("line", ["%openai bogus", "%openai budget lots", "%openai model size huge x",
                                  "%openai endpoint ftp://x", "%openai usage --by planet"])
def test_bad_openai_lines_are_one_line(nb, line):
    ran = nb.run(line)
    assert ran.error is not None
    assert "UsageError" in ran.stderr and "Traceback" not in ran.stderr + ran.stdout
    assert len(ran.stderr.strip().splitlines()) == 1


def test_config_traitlet_sets_default_model(nb, offline):
    nb.run("%config OpenAIMagics.chat_model = 'gpt-4o'")
    try:
        nb.run("%chat --no-stream hello")
        assert offline.requests[-1].body["model"] == "gpt-4o"
    finally:
        nb.run("%config OpenAIMagics.chat_model = 'gpt-4o-mini'")


def test_endpoint_and_model_subcommands(nb):
    from openai_magics import session

    nb.run("%openai model embed text-embedding-3-large")
    assert session().config.models["embed"] == "text-embedding-3-large"
    ran = nb.run("%openai endpoint http://127.0.0.1:9/v1")
    assert session().base_url == "http://127.0.0.1:9/v1" and ran.error is None


def test_the_offline_server_answers_only_models_openai_has_as_openai_would(nb, offline, session):
    nb.run(f"%openai endpoint {offline.base_url} --bills openai")  # the shared server, as %openai offline uses it
    ran = nb.run("%chat -m gpt-4o-mimi hi")  # a typo fails here, not first with a real key
    assert isinstance(ran.error, Exception) and "Traceback" not in ran.text
    assert "Not found (404): The model `gpt-4o-mimi` does not exist or you do not have access to it." in ran.text
    [sent] = [r for r in offline.requests if r.method == "POST"]
    assert sent.status == 404 and sent.body["model"] == "gpt-4o-mimi" and len(session.ledger) == 0
    for model in ("gpt-4o-mini-2024-07-18", "gpt-4.1-nano", "o3-pro"):  # snapshots, and models only genai-prices lists
        assert nb.run(f"%chat --no-stream -m {model} hi").error is None, model
    with pytest.raises(openai.NotFoundError, match="The model 'gpt-4o-mimi' does not exist"):
        openai.OpenAI(base_url=offline.base_url, api_key=TEST_KEY).models.retrieve("gpt-4o-mimi")


def test_offline_any_model_accepts_any_name_for_a_compatible_server_rehearsal(nb, offline):
    ran = nb.run("%openai offline --any-model")
    assert "It answers any model name (--any-model)" in ran.stdout
    answer = nb.run("%chat --no-stream -m my-local-llama hi")
    assert answer.error is None and "my-local-llama" in answer.result.usage_line
    nb.run("%openai offline")  # back to OpenAI's models only
    assert "does not exist" in nb.run("%chat --no-stream -m my-local-llama hi").text


def test_offline_subcommand_says_where_answers_come_from(nb):
    from openai_magics import session

    ran = nb.run("%openai offline")
    assert "offline server" in ran.stdout and "Nothing it answers comes from OpenAI" in ran.stdout
    assert session().config.offline
    assert nb.run("%chat --no-stream hi").result.text.startswith("### Offline answer")


def test_missing_key_is_one_clear_line(nb):
    from openai_magics import session

    session().configure(api_key=None, base_url=None)
    ran = nb.run("%chat hello")
    assert "No API key" in ran.stderr and "Traceback" not in ran.stderr


@pytest.mark.parametrize("cell", ["%chat hello", "%%image -m gpt-image-1\na fox",
                                  "%%chat --over rows\nSay {item}", "%%chat --compare gpt-4o-mini,gpt-4o\nhi",
                                  "%embed --input rows"])
def test_a_missing_key_is_said_before_any_live_view_shows(nb, offline, cell):
    """Not "waiting for the first token…" for as long as the client takes to build, then "No API key"."""
    from openai_magics import session

    session().configure(api_key=None, base_url=None)
    nb.ns["rows"] = ["a", "b"]
    ran = nb.run(cell)
    assert "No API key" in ran.stderr and "Traceback" not in ran.stderr
    assert ran.outputs == [] and ran.stdout == ""  # no live view, no progress, nothing waiting
    assert offline.requests == []


# --- the offline server ---------------------------------------------------------------------------

def _client(offline):
    return openai.OpenAI(base_url=offline.base_url, api_key="sk-x", max_retries=0)


def test_server_rejects_bad_role_with_the_violation(offline):
    if offline.validator is None:
        pytest.skip("no OpenAPI document")
    with pytest.raises(openai.BadRequestError) as err:
        _client(offline).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "wizard", "content": "x"}])
    assert "messages/0/role" in str(err.value) and "'wizard'" in str(err.value)


def test_server_rejects_temperature_5(offline):
    if offline.validator is None:
        pytest.skip("no OpenAPI document")
    with pytest.raises(openai.BadRequestError) as err:
        _client(offline).chat.completions.create(model="gpt-4o-mini", temperature=5,
                                                 messages=[{"role": "user", "content": "x"}])
    assert "temperature: 5 is greater than the maximum of 2" in str(err.value)


def test_server_streams_with_usage_and_length_finish(offline):
    stream = _client(offline).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True, max_tokens=10,
        stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[-1].usage.completion_tokens == 10
    assert any(c.choices and c.choices[0].finish_reason == "length" for c in chunks)
    assert chunks[-1].model == "gpt-4o-mini-2024-07-18"


def test_server_caches_long_prompt_prefixes(offline):
    long = "word " * 1500
    client = _client(offline)
    first = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": long}])
    second = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": long}])
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    assert second.usage.prompt_tokens_details.cached_tokens == (second.usage.prompt_tokens // 128) * 128


def test_server_embeddings_put_similar_texts_close(offline):
    import numpy as np

    data = _client(offline).embeddings.create(
        model="text-embedding-3-small", input=["a cat sat on the mat", "the cat sat on a mat", "stock market rally"]).data
    a, b, c = (np.array(d.embedding) for d in data)
    assert a @ b > a @ c + 0.2


def test_server_injects_faults(offline):
    client = _client(offline)
    offline.fail(401)
    with pytest.raises(openai.AuthenticationError):
        client.models.list() if False else client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    offline.fail(400, code="context_length_exceeded", message="too long")
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    assert err.value.code == "context_length_exceeded"
    assert [r.status for r in offline.requests] == [401, 400]


def test_key_from_an_environment_variable_is_masked(nb, monkeypatch):
    from openai_magics import session

    monkeypatch.setenv("CLASS_KEY", TEST_KEY)
    ran = nb.run("%openai key --env CLASS_KEY")
    assert "key set: …" in ran.stdout and "CLASS_KEY" in ran.stdout
    assert session().config.api_key.reveal() == TEST_KEY
    assert "not set" in nb.run("%openai key --env NO_SUCH_VARIABLE").stderr


def test_clients_share_one_tls_context_that_verifies_certificates(session, offline):
    """Each endpoint or key change builds a new client; the certificates are loaded once, not for each (30-80 ms
    each here), and a client of the bundled server, plain HTTP, loads none."""
    import ssl

    def tls_of(client):
        return client._client._transport.inner._pool._ssl_context

    session.configure(base_url="https://api.example.invalid/v1", endpoint_key=session.config.api_key)
    first = tls_of(session.client)
    session.configure(base_url="https://other.example.invalid/v1", endpoint_key=session.config.api_key)
    second = tls_of(session.client)
    assert first is second and first.verify_mode == ssl.CERT_REQUIRED and first.check_hostname
    session.configure(base_url=offline.base_url, endpoint_key=session.config.api_key, offline=True)  # as attached
    assert tls_of(session.client).verify_mode == ssl.CERT_NONE
