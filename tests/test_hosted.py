"""Hosted tools (Responses API) against the offline server: `--web` with numbered citations and `.sources`,
`--files` over a store made with `%openai store`, `--python` with a DataFrame; each priced per genai-prices and
the dated table, the same on a cache hit, and one line on a server without /responses."""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

DOCS = {  # five files; only one says when the library closes
    "garden.md": "The community garden opens in April. Tomatoes and beans grow in the south beds.",
    "library.md": "The town library closes at 19:30 on weekdays and at noon on Saturdays.\n\nIt lends e-books too.",
    "bikes.md": "Bicycle repairs happen in the shed behind the station, every second Tuesday.",
    "recipes.md": "Lentil soup needs onions, carrots, red lentils, cumin and a bay leaf.",
    "chess.md": "The chess club meets on Thursday evenings; beginners play the first hour.",
}


@pytest.fixture(autouse=True)
def store_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_MAGICS_STORE_DIR", str(tmp_path / "stores"))
    return tmp_path / "stores"


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text)
    return folder


def responses_posts(offline):
    return [r for r in offline.requests if r.path.endswith("/responses")]


def tools_cost(session, record) -> Decimal:
    """What the record's hosted tool calls added to its tokens' price."""
    tokens_only = replace(record.usage, web_searches=0, file_searches=0, containers=0)
    return record.cost - session.cost_of(record.model, tokens_only)


def per_call(model: str, name: str) -> Decimal:
    """A search call's price as genai-prices lists it for the model (USD per thousand calls / 1000)."""
    from openai_magics.metering.pricing import token_prices

    return getattr(token_prices(model).in_force(), f"{name}_kcount") / 1000


def table(name: str) -> Decimal:
    from openai_magics.metering.pricing import extra_prices

    return Decimal(str(extra_prices()["hosted_tools"][name]))


# --- --web ----------------------------------------------------------------------------------------

def test_web_numbered_citations_match_sources(nb, offline, session):
    ran = nb.run("%%chat --web -o r\nHow tall is Mount Everest?")
    assert ran.error is None, ran.error
    r = nb.ns["r"]
    shown = ran.outputs[-1]["text/markdown"]
    assert r.sources[0]["url"] == "https://geo.offline.example/everest" and r.sources[0]["kind"] == "web"
    for source in r.sources:
        assert f"[\\[{source['n']}\\]]({source['url']})" in shown  # the number after the passage, linked
        assert f"{source['n']}. [{source['title']}]({source['url']})" in shown  # and in the numbered list
    frame = r.sources.to_pandas()
    assert list(frame.index) == [s["n"] for s in r.sources] and frame.loc[1, "url"] == r.sources[0]["url"]
    assert "8,849 metres" in r.text and "not the live web" in r.text
    body = responses_posts(offline)[-1].body
    assert body["tools"] == [{"type": "web_search"}] and body["max_tool_calls"] == 8


def test_web_search_call_priced_per_call(nb, offline, session):
    nb.run("%%chat --web --no-stream\nHow tall is Mount Everest?")
    record = session.ledger.records[-1]
    assert record.usage.web_searches == 1
    assert tools_cost(session, record) == per_call(record.model, "web_searches") == Decimal("0.01")
    assert "1 web search" in nb.run("_").result.usage_line


def test_web_domains_and_location_go_to_the_tool(nb, offline, session):
    ran = nb.run("%%chat --web --domains weather.offline.example --location Paris,FR -o r\nWeather tomorrow?")
    assert ran.error is None
    tool = responses_posts(offline)[-1].body["tools"][0]
    assert tool == {"type": "web_search", "filters": {"allowed_domains": ["weather.offline.example"]},
                    "user_location": {"type": "approximate", "city": "Paris", "country": "FR"}}
    assert [s["url"] for s in nb.ns["r"].sources] == ["https://weather.offline.example/paris"]


def test_web_from_plain_python(nb, offline, session):
    import openai_magics

    r = openai_magics.chat("How long is the Nile?", web=True)
    assert r.sources[0]["url"] == "https://geo.offline.example/nile"


# --- stores and --files ----------------------------------------------------------------------------

def test_files_retrieves_and_cites_the_one_file_of_five_that_holds_the_answer(nb, offline, session, docs):
    made = nb.run(f"%openai store create town {docs}")
    assert made.error is None and "completed" in str(made.result) and "5 files" in str(made.result)
    ran = nb.run("%%chat --files town -k 3 -o r\nWhen does the library close on Saturdays?")
    assert ran.error is None, ran.error
    r = nb.ns["r"]
    assert [s["title"] for s in r.sources] == ["library.md"]
    assert "at noon on Saturdays" in r.sources[0]["quote"]
    shown = ran.outputs[-1]["text/markdown"]
    assert "1. **library.md** — “The town library closes at 19:30" in shown and "[1]" in shown
    tool = responses_posts(offline)[-1].body["tools"][0]
    assert tool["type"] == "file_search" and tool["max_num_results"] == 3
    assert tool["vector_store_ids"][0].startswith("vs_")
    record = session.ledger.records[-1]
    assert record.usage.file_searches == 1
    assert tools_cost(session, record) == per_call(record.model, "storage_searches")


def test_store_storage_is_in_the_ledger_estimated(nb, offline, session, docs):
    nb.run(f"%openai store create town {docs}")
    stored = [r for r in session.ledger.records if r.magic == "store"][-1]
    assert stored.estimated and stored.usage.stored_bytes > 0 and stored.cost == 0  # under the free GB
    assert stored.cost_text.startswith("≈")


def test_a_store_survives_a_restart_and_delete_removes_it_on_the_server(nb, offline, session, docs):
    from openai_magics.core.config import Secret
    from openai_magics.core.session import reset_session

    from conftest import TEST_KEY

    nb.run(f"%openai store create town {docs}")
    store_id = nb.run("%openai store status town").result.id
    fresh = reset_session()  # a new kernel's session: nothing in memory
    fresh.configure(base_url=offline.base_url, api_key=Secret(TEST_KEY, "OPENAI_API_KEY"), bills="openai")
    listed = nb.run("%openai store list")
    assert listed.error is None and f"town ({store_id})" in str(listed.result)
    deleted = nb.run("%openai store delete town")
    assert deleted.error is None and store_id in str(deleted.result)
    assert any(r.method == "DELETE" and r.path.endswith(f"/vector_stores/{store_id}") for r in offline.requests)
    assert "No stores" in str(nb.run("%openai store list").result)
    from openai_magics.offline.api.vector_stores import VectorStores

    assert store_id not in offline.state.part(VectorStores).items


def test_store_from_texts_and_from_plain_python(nb, offline, session):
    import openai_magics

    nb.run("import pandas as pd\nnotes = pd.DataFrame({'text': ['Otters hold hands while they sleep.', "
           "'Sloths swim well.'], 'n': [1, 2]})")
    assert nb.run("%openai store create animals notes.text").error is None
    info = openai_magics.store("animals", ["Owls cannot move their eyes."])
    assert len(info.files) == 3 and info.status == "completed"
    r = openai_magics.chat("Which animal holds hands?", files="animals")
    assert r.sources[0]["title"] == "notes-1.txt"


# --- --python --------------------------------------------------------------------------------------

def test_python_with_a_dataframe_returns_an_inline_chart_and_a_file(nb, offline, session, tmp_path):
    nb.run("import pandas as pd\nsales = pd.DataFrame({'month': ['jan', 'feb', 'mar'], 'units': [3, 5, 4], "
           "'price': [9.5, 9.0, 8.5]})")
    ran = nb.run("%%chat --python --file sales -o r\nChart the sales.")
    assert ran.error is None, ran.error
    r = nb.ns["r"]
    shown = ran.outputs[-1]["text/markdown"]
    assert "](data:image/png;base64,iVBOR" in shown and "stand-in" in r.text
    assert {f.name for f in r.files} == {"chart.png", "summary.csv"}
    saved = r.files.save(tmp_path / "out")
    assert (tmp_path / "out" / "summary.csv").read_text().startswith("column,count,mean")
    assert len(saved) == 2 and r.images and r.images[0].startswith(b"\x89PNG")
    assert "<details" in shown and "summary.csv" in shown  # the code and its logs, folded
    uploads = [x for x in offline.requests if x.path.endswith("/files") and x.method == "POST"]
    assert uploads and uploads[-1].files["file"].filename == "sales.csv"
    container = responses_posts(offline)[-1].body["tools"][0]["container"]
    assert container["type"] == "auto" and container["file_ids"][0].startswith("file-")
    record = session.ledger.records[-1]
    assert record.usage.containers == 1 and tools_cost(session, record) == table("container_session")


# --- across the tools: cache, dry run, budget, threads, refusals --------------------------------------

CELLS = {
    "web": "%%chat --web\nHow tall is Mount Everest?",
    "files": "%%chat --files town\nWhen does the library close on Saturdays?",
    "python": "%%chat --python --file sales\nChart the sales.",
}


def answer_of(ran) -> str:
    return ran.outputs[-1]["text/markdown"].rsplit("<sub", 1)[0]


@pytest.mark.parametrize("tool", CELLS)
def test_a_cache_hit_shows_the_same_citations_and_files(nb, offline, session, docs, tmp_path, tool):
    nb.run(f"%openai store create town {docs}")
    nb.run("import pandas as pd\nsales = pd.DataFrame({'units': [3, 5, 4]})")
    nb.run(f"%openai cache on {tmp_path / 'answers.sqlite'}")
    first = nb.run(CELLS[tool])
    sent = len(offline.requests)
    second = nb.run(CELLS[tool])
    assert first.error is None and second.error is None
    shown = answer_of(first)
    cited = "[1]" in shown.replace("\\", "") and "**Sources:**" in shown
    assert answer_of(second) == shown and (cited or "data:image/png" in shown)
    assert len(offline.requests) == sent  # nothing sent, nothing uploaded
    hit = session.ledger.records[-1]
    assert hit.cache_hit and hit.cost == 0 and hit.saved > 0


def test_dry_run_shows_the_tools_and_their_worst_cost(nb, offline, session):
    ran = nb.run("%%chat --web --dry-run\nHow tall is Mount Everest?")
    assert ran.error is None and not responses_posts(offline)
    assert "up to 8 web searches" in ran.result.summary and '"type": "web_search"' in ran.result.shown_body()


def test_the_budget_holds_a_worst_case_per_tool_call(nb, offline, session):
    nb.run("%openai budget 0.05")
    refused = nb.run("%%chat --web --max-tokens 50\nHow tall is Mount Everest?")
    assert refused.error is not None and "8 search calls" in str(refused.error) and not responses_posts(offline)
    nb.run("%openai budget off")


def test_web_in_a_thread(nb, offline, session):
    assert nb.run("%%chat --web --thread t\nHow tall is Mount Everest?").error is None
    again = nb.run("%%chat --web --thread t\nAnd the Nile?")
    assert again.error is None and responses_posts(offline)[-1].body.get("previous_response_id")


@pytest.mark.parametrize("cell, words", [
    ("%%chat --web --over rows\n{item}", "--over does not take --web"),
    ("%%chat --web --compare gpt-4o-mini,gpt-4.1-mini\nhi", "--compare does not take --web"),
    ("%%chat --web --api chat\nhi", "Web search (--web) is a tool of the Responses API"),
    ("%%chat --domains a.com\nhi", "--domains goes with --web"),
    ("%%chat --web --location Paris\nhi", "--location takes CITY,COUNTRY"),
    ("%%chat --files nowhere\nhi", "No store named 'nowhere'"),
    ("%%chat --python --file missing.csv\nhi", "missing.csv: no such file"),
    ("%%chat --web --seed 3\nhi", "--stop and --seed are not part of the Responses API"),
])
def test_refusals_are_one_line_and_nothing_is_sent(nb, offline, session, cell, words):
    nb.run("rows = ['a', 'b']")
    ran = nb.run(cell)
    assert ran.error is not None and words in str(ran.error), str(ran.error)
    assert "Traceback" not in ran.text and not responses_posts(offline)


@pytest.mark.parametrize("tool, words", [("web", "web search (--web)"), ("files", "file search (--files)"),
                                         ("python", "the code interpreter (--python)")])
def test_a_server_without_responses_names_the_tool_it_lacks(nb, offline, session, docs, tool, words):
    nb.run(f"%openai store create town {docs}")
    nb.run("import pandas as pd\nsales = pd.DataFrame({'units': [3, 5, 4]})")
    offline.behave_like("llama.cpp")
    ran = nb.run(CELLS[tool])
    assert ran.error is not None and "Traceback" not in ran.text
    line = str(ran.error)
    assert "\n" not in line and "no Responses API" in line and words in line, line


def test_python_from_plain_python_takes_the_dataframe_itself(nb, offline, session):
    import pandas as pd

    import openai_magics

    r = openai_magics.chat("Chart it.", python=pd.DataFrame({"units": [1, 2, 3]}))
    assert [f.name for f in r.files] == ["chart.png", "summary.csv"] and "units" in r.text
    upload = [x for x in offline.requests if x.path.endswith("/files") and x.method == "POST"][-1]
    assert upload.files["file"].filename == "data.csv" and upload.files["file"].data == b"units\n1\n2\n3\n"


def test_search_calls_where_genai_prices_lists_none_come_from_the_dated_table():
    from openai_magics.metering.pricing import user_prices
    from openai_magics.metering.usage import Usage

    own = user_prices("my-model", Decimal(1), Decimal(1))  # prices of our own: no search prices in them
    bill = own.bill(Usage(web_searches=2, file_searches=4, containers=1))
    assert bill.cost == 2 * table("web_search_per_call") + 4 * table("file_search_per_call") + table("container_session")


def test_vector_storage_is_free_up_to_a_gb_then_priced_per_gb_day():
    from openai_magics.metering.pricing import token_prices
    from openai_magics.metering.usage import Usage

    storage = token_prices("vector-store")
    assert storage.cost(Usage(stored_bytes=10 ** 9)) == 0
    assert storage.cost(Usage(stored_bytes=3 * 10 ** 9)) == 2 * table("storage_per_gb_day")
