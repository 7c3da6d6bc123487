"""--schema, --json, --tools and --image over the Responses API pass the same tests as over Chat Completions:
the structured-output, tool and vision test modules run again with every cell on `--api responses` (the
session's api), save the tests that read Chat Completions' own wire format."""
import pytest

import tests.test_chat_structured as structured_tests
from tests.test_chat_structured import *  # noqa: F401,F403 - the same tests, collected again here
from tests.test_chat_vision import *  # noqa: F401,F403

CHAT_WIRE_ONLY = {  # these read `messages`, `response_format` or `/chat/completions` bodies by name
    "test_schema_with_a_nested_pydantic_model_yields_an_instance",
    "test_a_json_schema_dict_works",
    "test_a_loose_json_schema_dict_is_sent_non_strict",
    "test_json_mode_parses_into_python",
    "test_tools_run_two_rounds_with_a_parallel_call_and_the_answer_uses_the_results",
    "test_a_tool_that_raises_is_reported_to_the_model_and_the_cell_completes",
    "test_dry_run_sends_nothing_and_shows_body_tokens_and_worst_case",
    "test_dry_run_needs_no_key_and_no_client",
    "test_each_local_source_kind_is_sent_as_a_data_url",
    "test_a_matplotlib_figure_is_accepted",
    "test_urls_go_as_they_are_and_several_images_with_detail",
    "test_an_image_is_encoded_once_and_resent_unchanged_in_every_round",
}


@pytest.fixture(autouse=True)
def _requests_are_responses(monkeypatch):
    """The tests' own helper that picks the chat requests from the server's log picks the Responses ones."""
    monkeypatch.setattr(structured_tests, "chat_requests",
                        lambda offline: [r for r in offline.requests if r.path.endswith("/responses")])


@pytest.fixture
def session(session):
    session.configure(api="responses")
    return session


@pytest.fixture(autouse=True)
def _chat_wire_only(request):
    if request.node.originalname in CHAT_WIRE_ONLY:
        pytest.skip("reads Chat Completions' wire format; its Responses twin is in test_compat.py")
