"""A server that reports a service tier this client does not know, or a tier that is not a name: the answer is
shown and recorded, priced as the default tier or said unknown, never a crash or a made-up number."""
from __future__ import annotations

import json

import pytest

from tests.faults.rogue import Answer, chunk, completion, json_answer

TIERS = {"unknown-name": "platinum", "number": 3, "object": {"tier": "flex"}, "empty": "", "null": None,
         "long": "x" * 100, "with-spaces": "flex priority", "known-flex": "flex", "default": "default"}


def _with_tier(tier, stream: bool) -> Answer:
    if stream:
        events = [json.loads(chunk("Hello.")), json.loads(chunk(finish="stop")),
                  json.loads(chunk(usage={"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}))]
        for event in events:
            event["service_tier"] = tier
        return Answer(events=[json.dumps(e).encode() for e in events] + [b"[DONE]"])
    return json_answer({**completion(), "service_tier": tier})


@pytest.mark.parametrize("stream", [False, True], ids=["no-stream", "stream"])
@pytest.mark.parametrize("tier", list(TIERS))
def test_a_reported_service_tier_never_breaks_the_answer_or_its_price(nb, rogue, fast, session, tier, stream):
    nb.run(f"%openai endpoint {rogue.base_url} --bills openai")
    rogue.script(_with_tier(TIERS[tier], stream))
    ran = nb.run("%chat -o r " + ("" if stream else "--no-stream ") + "hi")
    assert ran.error is None and nb.ns["r"].text == "Hello." and "Traceback" not in ran.text
    [record] = session.ledger.records
    assert record.usage.input_tokens == 9 and record.usage.output_tokens == 2
    assert record.cost is None or record.cost > 0
