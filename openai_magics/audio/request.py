"""What an audio call asks, checked per model before anything is sent (data/audio_models.json)."""
from __future__ import annotations

from dataclasses import dataclass, field

from openai_magics.facts.data import load
from openai_magics.core.errors import UsageError

TRANSCRIPT_FORMATS = ("text", "json", "verbose_json", "srt", "vtt")
TIMESTAMPS = ("segment", "word")


def _table() -> dict:
    return load("audio_models.json")


@dataclass
class TranscribeRequest:
    sources: list                      # audio.sources.Audio, one per line of the cell
    model: str
    language: str | None = None
    prompt: str | None = None
    format: str | None = None          # None: the richest the model gives (verbose_json on whisper-1)
    timestamps: list[str] = field(default_factory=list)
    translate: bool = False
    cache: bool = True

    def __post_init__(self) -> None:
        self.validate()

    @property
    def model_facts(self) -> dict | None:
        return _table()["transcribe"].get(self.model)

    def validate(self) -> None:
        if not self.sources:
            raise UsageError("Nothing to transcribe: give one source per line (a path, URL or variable).")
        facts = self.model_facts
        if self.format is not None and self.format not in TRANSCRIPT_FORMATS:
            raise UsageError(f"--format must be one of {', '.join(TRANSCRIPT_FORMATS)}, not {self.format!r}.")
        for kind in self.timestamps:
            if kind not in TIMESTAMPS:
                raise UsageError(f"--timestamps must be segment or word, not {kind!r}.")
        if facts is None:
            return  # a model we have no facts for (a compatible server's): the server decides
        if self.format is not None and self.format not in facts["formats"]:
            raise UsageError(f"{self.model} answers in {', '.join(facts['formats'])}, not {self.format}.")
        if self.timestamps and not facts["timestamps"]:
            raise UsageError(f"{self.model} gives no timestamps: use -m whisper-1 for --timestamps.")
        if self.translate and not facts["translate"]:
            raise UsageError(f"{self.model} does not translate: --translate uses -m whisper-1.")

    @property
    def wire_format(self) -> str:
        """What is asked of the API: verbose_json whenever times are wanted (subtitles are made here)."""
        facts = self.model_facts or {"formats": ["json"]}
        if self.format in ("srt", "vtt") or self.timestamps or self.format is None:
            return "verbose_json" if "verbose_json" in facts["formats"] else "json"
        return "json" if self.format == "text" else self.format

    @property
    def granularities(self) -> list[str] | None:
        """Word times come with segment times: the transcript shows its segments either way."""
        return sorted(set(self.timestamps) | {"segment"}) if self.timestamps else None

    @property
    def streams(self) -> bool:
        return bool((self.model_facts or {}).get("streams")) and not self.translate


@dataclass
class SpeakRequest:
    text: str
    model: str
    voice: str = "alloy"
    format: str = "mp3"
    speed: float | None = None
    instructions: str | None = None
    cache: bool = True

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        facts = _table()["speech"]
        if not self.text.strip():
            raise UsageError("Nothing to say: the cell is empty.")
        if self.format not in facts["formats"]:
            raise UsageError(f"--format must be one of {', '.join(facts['formats'])}, not {self.format!r}.")
        low, high = facts["speed"]
        if self.speed is not None and not low <= self.speed <= high:
            raise UsageError(f"--speed must be between {low} and {high}, not {self.speed}.")
        if self.model in facts["models"] and self.voice not in facts["voices"]:
            raise UsageError(f"-v {self.voice}: the voices are {', '.join(facts['voices'])}.")
        if self.instructions and self.model in facts["models"] and self.model not in facts["instructions"]:
            raise UsageError(f"{self.model} takes no --instructions (gpt-4o-mini-tts does).")

    def parts(self) -> list[str]:
        """The text in pieces the API takes, cut at sentence ends (or spaces) under the character limit."""
        import re

        limit = _table()["speech"]["max_input_characters"]
        pieces, current = [], ""
        for sentence in re.findall(r"[^.!?]+[.!?]*\s*", self.text.strip()) or [self.text]:
            while len(sentence) > limit:  # a sentence longer than the limit: cut at its last space that fits
                cut = sentence.rfind(" ", 0, limit)
                cut = cut if cut > 0 else limit
                if current.strip():
                    pieces.append(current.strip())
                    current = ""
                pieces.append(sentence[:cut].strip())
                sentence = sentence[cut:]
            if len(current) + len(sentence) > limit:
                pieces.append(current.strip())
                current = ""
            current += sentence
        if current.strip():
            pieces.append(current.strip())
        return [p for p in pieces if p]
