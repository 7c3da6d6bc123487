"""Named conversations that follow the notebook: re-running a cell replaces its own turn."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Turn:
    key: str                       # the cell id, or the cell's source where the frontend sends no id
    user: dict
    assistant: dict
    response_id: str | None = None
    incomplete: bool = False       # cut at the token limit: kept (it is what the model said), marked


@dataclass
class Thread:
    name: str
    system: str | None = None
    turns: list[Turn] = field(default_factory=list)

    def _index(self, key: str) -> int | None:
        return next((i for i, t in enumerate(self.turns) if t.key == key), None)

    def history(self, key: str) -> list[dict]:
        """The messages before this cell's turn (all of them for a new turn)."""
        index = self._index(key)
        turns = self.turns if index is None else self.turns[:index]
        system = [{"role": "system", "content": self.system}] if self.system else []
        return system + [m for t in turns for m in (t.user, t.assistant)]

    def previous_response_id(self, key: str) -> str | None:
        """With the Responses API a new last turn can point at the previous response instead of resending."""
        if self._index(key) is None and self.turns:
            return self.turns[-1].response_id
        return None

    def record(self, turn: Turn) -> None:
        index = self._index(turn.key)
        if index is None:
            self.turns.append(turn)
        else:
            self.turns[index] = turn


class Threads:
    def __init__(self) -> None:
        self._threads: dict[str, Thread] = {}

    def get(self, name: str, new: bool = False) -> Thread:
        if new or name not in self._threads:
            self._threads[name] = Thread(name)
        return self._threads[name]

    def reset(self, name: str | None = None) -> list[str]:
        names = list(self._threads) if name is None else [name] if name in self._threads else []
        for n in names:
            del self._threads[n]
        return names

    def __iter__(self):
        return iter(self._threads.values())

    def __len__(self) -> int:
        return len(self._threads)
