"""Offline answers that fit the task a prompt sets, deterministically: a classification names one of the
labels the prompt offers, a question about a given text quotes from it, a request for JSON is valid JSON,
a translation or a summary reads as one. Prompts that set none of these get the generic offline answer
(answers.py). The choice among labels depends on the text being classified and on the model, so rows (and
models) differ, as a real model's would, and an eval scores somewhere between 0 and 100%.
"""
from __future__ import annotations

import hashlib
import json
import re

SENTIMENTS = ["positive", "negative", "neutral"]
CUES = {  # beginnings of words that point to a label, for the labels prompts usually offer
    "positive": ("good", "great", "love", "excellent", "perfect", "fast", "quick", "on time", "happy", "recommend",
                 "works"),
    "negative": ("bad", "late", "broke", "terrible", "awful", "slow", "poor", "hate", "refund", "never", "useless",
                 "disappoint", "waste"),
    "neutral": ("okay", "ok", "fine", "average", "arrived"),
    "mixed": ("but", "although", "however", "mixed"),
}
LANGUAGES = {
    "french": "En français", "spanish": "En español", "german": "Auf Deutsch", "italian": "In italiano",
    "portuguese": "Em português", "dutch": "In het Nederlands", "japanese": "日本語で", "chinese": "中文",
}
_CLASSIFY = re.compile(r"\b(classif\w*|categori[sz]e|label|sentiment)\b", re.I)
_LIST = re.compile(r"\[\s*(['\"][^\[\]]*['\"])\s*\]")
_ONE_OF = re.compile(r"\bone of\s*:?\s*([\w\- ]+(?:\s*(?:,|/|\bor\b)\s*[\w\-]+)+)", re.I)
_AS_LABELS = re.compile(r"\bas\s+([\w\-]+(?:\s*,\s*[\w\-]+)*\s*,?\s*or\s+[\w\-]+)\b", re.I)
_TRANSLATE = re.compile(r"\btranslate\b.*?\b(?:in)?to\s+(" + "|".join(LANGUAGES) + r")\b\s*:?\s*(.*)", re.I | re.S)
_SUMMARY = re.compile(r"\b(summari[sz]e|summary of|tl;?dr)\b", re.I)
_JSON = re.compile(r"\b(?:as|in|return|reply with|respond with|answer with|output)\s+(?:an?\s+)?(?:valid\s+)?JSON\b",
                   re.I)
_KEYS = re.compile(r"\b(?:keys?|fields?)\s*:?\s*((?:[`'\"]?\w+[`'\"]?\s*(?:,|\band\b)\s*)*[`'\"]?\w+[`'\"]?)", re.I)
_GIVEN_TEXT = re.compile(r"\b(?:text|context|passage|article|document)\s*:\s*(.+)", re.I | re.S)


def task_answer(prompt: str, model: str) -> str | None:
    """The answer to the task `prompt` sets, or None when it sets none of those recognised here."""
    for answer in (_translation, _summary, _json, _classification, _quote):
        text = answer(prompt, model)
        if text is not None:
            return text
    return None


def _pick(options: list[str], text: str, model: str) -> str:
    """The option the text itself names or points to; else one chosen by the text and the model."""
    folded = text.casefold()
    named = [o for o in options if re.search(rf"\b{re.escape(o.casefold())}\b", folded)]
    if len(named) == 1:
        return named[0]
    cued = [o for o in options if any(re.search(rf"\b{re.escape(c)}", folded) for c in CUES.get(o.casefold(), ()))]
    if len(cued) == 1:
        return cued[0]
    digest = hashlib.sha256(f"{model}\n{text}".encode()).digest()
    return (cued or options)[digest[0] % len(cued or options)]


def labels_named(prompt: str) -> list[str]:
    """The labels a classification prompt offers: a list (`['positive', 'negative']`), `one of a, b or c`,
    `as a, b or c`; the usual three for a sentiment that names none."""
    listed = _LIST.search(prompt)
    if listed:  # read by a pattern: ast.literal_eval is not safe on the server's threads in Python 3.11
        found = re.findall(r"['\"]([^'\"]+)['\"]", listed.group(1))
        if found:
            return found
    for pattern in (_ONE_OF, _AS_LABELS):
        match = pattern.search(prompt)
        if match:
            found = [w.strip(" .") for w in re.split(r"\s*(?:,|/|\bor\b)\s*", match.group(1)) if w.strip(" .")]
            if len(found) >= 2 and all(len(w.split()) <= 2 for w in found):
                return found
    return SENTIMENTS if re.search(r"\bsentiment\b", prompt, re.I) else []


def _classification(prompt: str, model: str) -> str | None:
    if not (_CLASSIFY.search(prompt) or _ONE_OF.search(prompt)):
        return None
    labels = labels_named(prompt)
    if not labels:
        return None
    subject = prompt.rsplit(":", 1)[-1] if ":" in prompt else prompt
    return _pick(labels, subject, model)


def _translation(prompt: str, model: str) -> str | None:
    match = _TRANSLATE.search(prompt)
    if not match or not match.group(2).strip():
        return None
    language, text = match.group(1).lower(), " ".join(match.group(2).split()).strip("\"'“”«» ")
    return f"{LANGUAGES[language]} (offline translation): « {text} »"


def _summary(prompt: str, model: str) -> str | None:
    if not _SUMMARY.search(prompt):
        return None
    text = _material(prompt)
    if not text:
        return None
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    words = first.split()
    short = " ".join(words[:25]) + (" …" if len(words) > 25 else "")
    return f"**Summary (offline):** {short} ({len(text.split()):,} words in, one sentence out.)"


def _json(prompt: str, model: str) -> str | None:
    if not _JSON.search(prompt):
        return None
    keys = _KEYS.search(prompt)
    names = re.findall(r"\w+", re.sub(r"\band\b", ",", keys.group(1))) if keys else []
    topic = " ".join(re.sub(r"\b(?:as|in)\s+(?:an?\s+)?(?:valid\s+)?JSON\b.*", "", prompt, flags=re.I).split()[:12])
    value = {name: f"{name} of {topic}" for name in names} if names else {"answer": topic}
    return json.dumps({**value, "offline": True}, ensure_ascii=False)


def _quote(prompt: str, model: str) -> str | None:
    """A question about a text the prompt gives: the sentence of that text nearest the question."""
    question = next((line for line in reversed(prompt.splitlines()) if line.strip().endswith("?")), "")
    text = _material(prompt, without=question)
    if not question or not text:
        return None
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]
    asked = set(re.findall(r"\w{3,}", question.casefold()))
    best = max(sentences, key=lambda s: len(asked & set(re.findall(r"\w{3,}", s.casefold()))))
    return f"The text says (quoted by the offline server): “{best.strip()}”"


def _material(prompt: str, without: str = "") -> str:
    """The text a prompt hands over to work on: after `Text:` (or context, passage…), else in quotes, else
    what follows the first colon or line of instructions."""
    body = prompt.replace(without, "") if without else prompt
    given = _GIVEN_TEXT.search(body)
    if given:
        return " ".join(given.group(1).split()).strip("\"'“” ")
    quoted = re.search(r"[\"“]([^\"”]{40,})[\"”]", body)
    if quoted:
        return " ".join(quoted.group(1).split())
    head, sep, rest = body.partition("\n") if "\n" in body.strip() else body.partition(":")
    return " ".join(rest.split()) if sep and len(rest.split()) >= 8 else ""
