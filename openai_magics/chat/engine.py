"""run_chat: a request and its thread become messages, a runner sends them, the thread and the result follow."""
from __future__ import annotations

from dataclasses import replace

from openai_magics.cache.pins import model_to_send
from openai_magics.chat import levers
from openai_magics.chat.request import ChatRequest, choose_api
from openai_magics.chat.result import ChatResult
from openai_magics.chat.threads import Threads, Turn
from openai_magics.chat.vision import user_content
from openai_magics.facts.models import model_info
from openai_magics.core.errors import CallFailed

SHORT_ANSWER_TOKENS = 100  # a budget that cannot pay for this much of an answer refuses the call


class NoStreamView:
    """Where a quiet or non-streamed call sends its deltas."""

    def start(self, request: ChatRequest, prices) -> None: ...
    def delta(self, text: str, tokens: int, elapsed: float) -> None: ...
    def finish(self, result: ChatResult) -> None: ...
    def abort(self) -> None: ...


def run_chat(session, request: ChatRequest, view=None, *, magic: str = "chat",
             only_cached: bool = False) -> ChatResult | None:
    """Ask once (a tool loop: as many rounds as it takes); `magic` names the ledger row. `only_cached`: the
    response cache's answer, or None; nothing is sent."""
    view = view or NoStreamView()
    pinned = model_to_send(session, request.model)
    if pinned != request.model:  # `%openai pin on`: the snapshot this alias first answered as
        request = replace(request, model=pinned, pinned_from=request.model)
    if request.moderate and not request.dry_run:
        from openai_magics.chat.moderated import refuse_if_flagged

        refuse_if_flagged(session, request.prompt)
    thread = session.part(Threads).get(request.thread, new=request.new_thread) if request.thread else None
    if thread is not None and request.system:
        thread.system = request.system
    messages = thread.history(request.turn_key) + [user_message(request)] if thread else messages_of(request)
    user = messages[-1]
    api = choose_api(request, session.config)

    max_out = request.max_tokens or session.config.max_tokens
    call = session.begin(magic)
    runner = _runner_class(request, api)
    previous = thread.previous_response_id(request.turn_key) if thread and api == "responses" else None
    runner = runner(session, request, messages, max_out, previous, view, call)
    if request.moderate:
        from openai_magics.chat.moderated import AnswerModeration

        runner.moderation = AnswerModeration(session)
    if request.dry_run:
        from openai_magics.chat.dry_run import ChatDryRun

        return ChatDryRun.of(runner)
    if request.background:  # the server runs it: the id now, the answer when collected (chat/background.py)
        from openai_magics.chat.background import start

        return start(session, request, messages)
    result = runner.from_cache()  # a cache hit costs nothing, so no budget stands in its way
    if result is None and only_cached:
        return None
    if result is None:
        if max_out is None and session.budget is not None:
            runner.max_out = call.budget_cap = budget_cap(session, request.model, runner.prompt_tokens().tokens)
        try:
            result = runner.run()  # the budget is checked before each request it sends
        except CallFailed as exc:
            if request.service_tier != "flex-or-default" or not levers.flex_unavailable(exc):
                raise
            result = run_chat(session, replace(request, service_tier=levers.FALLBACK_TIER), view, magic=magic)
            result.tier_note = levers.FALLBACK_NOTE
            return result
    result.thread = request.thread
    if thread is not None and _belongs_in_thread(result):
        thread.record(Turn(request.turn_key, user, {"role": "assistant", "content": result.text},
                           result.response_id, incomplete=result.finish_reason == "length"))
    session.last_result = result
    return result


def messages_of(request: ChatRequest) -> list[dict]:
    """What a request outside a thread sends: its system prompt, then its user message."""
    system = [{"role": "system", "content": request.system}] if request.system else []
    return system + [user_message(request)]


def user_message(request: ChatRequest) -> dict:
    """The user's turn: the prompt, after the --context summaries when there are any."""
    text = f"{request.context}\n\n{request.prompt}" if request.context else request.prompt
    return {"role": "user", "content": user_content(text, request.images, request.detail)}


def _belongs_in_thread(result: ChatResult) -> bool:
    """What the model said, whole or cut at the token limit; not an interrupted, cut or empty answer."""
    if result.interrupted or not result.text.strip():
        return False
    return not result.incomplete or result.finish_reason == "length"


def budget_cap(session, model: str, prompt_tokens: int) -> int | None:
    """With a budget and no --max-tokens: the output limit the budget allows, when it is below the model's
    own. Refused (by the budget check, with the figures) when not even a short answer fits."""
    allowed = session.output_allowed(model, prompt_tokens)
    if allowed is None or allowed >= (model_info(model).max_output or 16384):
        return None
    if allowed < SHORT_ANSWER_TOKENS:
        session.check_budget(model, prompt_tokens, SHORT_ANSWER_TOKENS)
    return allowed


def _runner_class(request: ChatRequest, api: str):
    if api == "responses":
        from openai_magics.chat.responses import ResponsesLoop

        return ResponsesLoop
    from openai_magics.chat.tools import ToolLoop

    return ToolLoop
