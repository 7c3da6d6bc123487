"""ModerationResult: per text, flagged or not, with the flagged categories and the top scores as a table."""
from __future__ import annotations

import html
from dataclasses import dataclass

from openai_magics.core.ledger import UsageRecord
from openai_magics.views.markup import shorten, usage_sub

TOP_SCORES = 3  # shown for a text nothing flagged: how close it came


@dataclass
class ModerationResult:
    texts: list[str]
    verdicts: list                    # core.moderation.Verdict, one per text
    record: UsageRecord

    @property
    def flagged(self) -> bool:
        return any(v.flagged for v in self.verdicts)

    @property
    def usage_line(self) -> str:
        return f"{self.record.model} · $0 (moderation is free) · {self.record.latency:.1f} s"

    def rows(self) -> list[dict]:
        """One row per text and category shown: the flagged ones, else the highest scores."""
        out = []
        for text, v in zip(self.texts, self.verdicts):
            shown = v.categories or sorted(v.scores, key=lambda c: -v.scores[c])[:TOP_SCORES]
            for category in shown:
                out.append({"text": shorten(text, 60), "flagged": category in v.categories, "category": category,
                            "score": v.scores.get(category, 0.0)})
        return out

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(self.rows())

    def _repr_html_(self) -> str:
        head = "<tr><th>text</th><th>flagged</th><th>category</th><th>score</th></tr>"
        body = "".join(
            f"<tr><td>{html.escape(r['text'])}</td><td>{'⚑ yes' if r['flagged'] else 'no'}</td>"
            f"<td>{html.escape(r['category'])}</td><td>{r['score']:.3f}</td></tr>" for r in self.rows())
        return f"<table>{head}{body}</table>\n{usage_sub(self.usage_line)}"

    def _repr_pretty_(self, p, cycle) -> None:
        lines = [f"{'⚑ flagged' if r['flagged'] else 'ok':<9} {r['category']:<24} {r['score']:.3f}  {r['text']}"
                 for r in self.rows()]
        p.text("\n".join([*lines, "", self.usage_line]))

