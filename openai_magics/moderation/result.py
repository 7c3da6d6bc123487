"""ModerationResult: per text, flagged or not, with the flagged categories and the top scores as a table."""
from __future__ import annotations

import html
from dataclasses import dataclass

from openai_magics.metering.ledger import UsageRecord
from openai_magics.views.markup import LEFT, shorten, usage_sub

TOP_SCORES = 3  # shown for a text nothing flagged: how close it came


@dataclass
class ModerationResult:
    texts: list[str]
    verdicts: list                    # moderation.check.ModerationVerdict, one per text
    record: UsageRecord

    @property
    def flagged(self) -> bool:
        return any(v.flagged for v in self.verdicts)

    @property
    def usage_line(self) -> str:
        return f"{self.record.model} · $0 (moderation is free) · {self.record.latency:.1f} s"

    def rows(self) -> list[dict]:
        """One row per text and category shown: the flagged ones, else the highest scores."""
        return [{"text": text, "flagged": flagged, "category": category, "score": score}
                for text, flagged, scores in self._verdicts() for category, score in scores]

    def _verdicts(self) -> list[tuple[str, bool, list[tuple[str, float]]]]:
        """(the text, flagged, the categories shown with their scores), one per text."""
        out = []
        for text, v in zip(self.texts, self.verdicts):
            shown = v.categories or sorted(v.scores, key=lambda c: -v.scores[c])[:TOP_SCORES]
            out.append((shorten(text, 60), bool(v.categories), [(c, v.scores.get(c, 0.0)) for c in shown]))
        return out

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(self.rows())

    def _repr_html_(self) -> str:
        """A text and its verdict once, beside the categories shown for it."""
        head = f"<tr><th{LEFT}>text</th><th{LEFT}>flagged</th><th{LEFT}>category</th><th>score</th></tr>"
        body = ""
        for text, flagged, scores in self._verdicts():
            span = f' rowspan="{len(scores)}"' if len(scores) > 1 else ""
            first = (f"<td{span}{LEFT}>{html.escape(text)}</td>"
                     f"<td{span}{LEFT}>{'⚑ yes' if flagged else 'no'}</td>")
            body += "".join(f"<tr>{first if i == 0 else ''}<td{LEFT}>{html.escape(category)}</td>"
                            f"<td>{score:.3f}</td></tr>" for i, (category, score) in enumerate(scores))
        return f"<table>{head}{body}</table>\n{usage_sub(self.usage_line)}"

    def _repr_pretty_(self, p, cycle) -> None:
        lines = []
        for text, flagged, scores in self._verdicts():
            for i, (category, score) in enumerate(scores):
                verdict = ("⚑ flagged" if flagged else "ok") if i == 0 else ""
                lines.append(f"{verdict:<9} {category:<24} {score:.3f}  {text if i == 0 else ''}".rstrip())
        p.text("\n".join([*lines, "", self.usage_line]))

