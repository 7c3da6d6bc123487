"""Token counting with tiktoken, and an honest estimate where its encodings cannot be loaded.

tiktoken downloads its encodings on first use; these machines (and many classrooms) have no network,
so we look for the cached file first and never trigger a download.
"""
from __future__ import annotations

import hashlib
import math
import os
import re
import tempfile
import threading
from dataclasses import dataclass

from openai_magics.facts.messages import message_text

ENCODING_URLS = {
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
}
ENCODING_URLS["o200k_harmony"] = ENCODING_URLS["o200k_base"]  # gpt-oss: o200k_base's file, more special tokens
# Names whose tokenizer is tiktoken's: OpenAI's models (any other model's counts are estimates).
_OPENAI_PREFIXES = ("gpt-", "o1", "o3", "o4", "chatgpt-", "codex-", "computer-use", "text-embedding-", "davinci",
                    "babbage")

# OpenAI's chat format adds a few tokens per message and primes the reply (documented in the cookbook).
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3

_lock = threading.Lock()


@dataclass(frozen=True)
class TokenCount:
    tokens: int
    exact: bool
    encoding: str | None = None

    def __str__(self) -> str:
        return f"{self.tokens:,}" if self.exact else f"≈{self.tokens:,}"


def encoding_name(model: str) -> str:
    """tiktoken's own encoding for the model (a fine-tuned one by its base), o200k_base for names it does not
    know (newer models, other servers' models)."""
    name = model.removeprefix("ft:").split(":")[0]
    try:
        from tiktoken.model import encoding_name_for_model

        found = encoding_name_for_model(name)
    except (ImportError, KeyError):
        return "o200k_base"
    return found if found in ENCODING_URLS else "o200k_base"


def is_openai_model(model: str) -> bool:
    """A model whose tokenizer tiktoken knows (OpenAI's names); any other model counts its own way."""
    name = model.removeprefix("ft:").split(":")[0]
    return name.startswith(_OPENAI_PREFIXES)


def _cache_dir() -> str:
    return os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR") or os.path.join(
        tempfile.gettempdir(), "data-gym-cache"
    )


def unavailable_reason() -> str:
    """Why the encodings were not found, in words a user can act on."""
    folder = os.environ.get("TIKTOKEN_CACHE_DIR")
    if folder and not os.path.isabs(folder) and not os.path.isdir(folder):
        # A kernel runs in the notebook's folder, not where `jupyter lab` was started.
        return (f"TIKTOKEN_CACHE_DIR={folder} is a relative path and this kernel runs in {os.getcwd()}, "
                "where it does not exist: export it as an absolute path")
    return (f"tiktoken's encoding is not in {_cache_dir()} and could not be put there; for exact counts "
            "point TIKTOKEN_CACHE_DIR at a writable folder, or one that holds the encodings")


def _cached_path(name: str) -> str:
    return os.path.join(_cache_dir(), hashlib.sha1(ENCODING_URLS[name].encode()).hexdigest())


def _install_bundled(name: str) -> bool:
    """Put this package's copy of the encoding (facts/data/encodings/) where tiktoken looks for it, as its
    own download would: counts are exact on a machine without network and without TIKTOKEN_CACHE_DIR.
    A folder TIKTOKEN_CACHE_DIR names is used only when it exists (one that points nowhere is said)."""
    import gzip
    from importlib import resources

    from openai_magics.facts.data import load

    folder, entry = _cache_dir(), load("encodings.json")["files"].get(name)
    if entry is None or (os.environ.get("TIKTOKEN_CACHE_DIR") and not os.path.isdir(folder)):
        return False
    try:
        data = gzip.decompress(resources.files("openai_magics.facts.data").joinpath(entry["file"]).read_bytes())
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            return False
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".tmp") as f:
            f.write(data)
        os.replace(f.name, _cached_path(name))  # whole or not at all, whichever process writes last
    except OSError:
        return False
    return True


_built: dict[tuple[str, str], object] = {}  # (encoding, folder) → tiktoken's encoding, once this process built it
_parsed: dict[tuple[str, str], dict] = {}   # (encoding, folder) → its parsed state (see `parsed_encoding`)


def _load(name: str, cache_dir: str):
    """tiktoken's encoding, built once per process (call under `_lock`)."""
    key = (name, cache_dir)
    if key not in _built:
        _built[key] = _build(name, cache_dir)
    return _built[key]


def _build(name: str, cache_dir: str):
    try:
        import tiktoken

        state = _state(name, cache_dir)
        if state is not None:
            return tiktoken.Encoding(state["name"], pat_str=state["pat_str"], mergeable_ranks=state["mergeable_ranks"],
                                     special_tokens=state["special_tokens"])
        encoding = tiktoken.get_encoding(name)
        _keep_parsed(encoding)
        return encoding
    except Exception:  # a corrupt or partial cache file: estimate rather than fail the cell
        return None


def _read(path: str) -> bytes:
    with open(path, "rb", buffering=0) as f:
        return f.read()


def _parsed_path(name: str, source: bytes) -> str:
    """Where the parsed encoding is kept, named by the tiktoken file it was read from (a changed file is read again)."""
    return f"{_cached_path(name)}.{name}.{hashlib.sha256(source).hexdigest()[:16]}.marshal"


def _state(name: str, cache_dir: str) -> dict | None:
    """The encoding's kept parsed form (name, pat_str, mergeable_ranks, special_tokens): tiktoken parses its
    file's 200,000 base64 lines on every load (~155 ms of CPU on our 2-core machine, under the GIL, before a
    fresh kernel's first offline token); marshal reads the parsed ranks back in ~50 ms. None when there is no
    such form (the first load, or another file)."""
    import marshal

    key = (name, cache_dir)
    if key in _parsed:
        return _parsed[key]
    try:
        state = marshal.loads(_read(_parsed_path(name, _read(_cached_path(name)))))  # marshal.load(file): 4× slower
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if not (isinstance(state, dict) and state.get("name") == name and isinstance(state.get("pat_str"), str)
            and isinstance(state.get("mergeable_ranks"), dict) and isinstance(state.get("special_tokens"), dict)):
        return None
    _parsed[key] = state
    return state


def _keep_parsed(encoding) -> None:
    """Keep what tiktoken parsed (after it checked the file) for the next process's `_state`; a folder that
    cannot be written to only means tiktoken parses again."""
    import marshal

    state = {"name": encoding.name, "pat_str": encoding._pat_str, "mergeable_ranks": encoding._mergeable_ranks,
             "special_tokens": encoding._special_tokens}
    _parsed[(encoding.name, _cache_dir())] = state
    try:
        path = _parsed_path(encoding.name, _read(_cached_path(encoding.name)))
        with tempfile.NamedTemporaryFile(dir=os.path.dirname(path), delete=False, suffix=".tmp") as f:
            marshal.dump(state, f)
        os.replace(f.name, path)  # whole or not at all, whichever process writes last
    except (OSError, AttributeError, ValueError):
        pass


def _available(name: str) -> bool:
    """tiktoken's file of the encoding is where tiktoken looks (put there from the package's copy if need be)."""
    return os.path.exists(_cached_path(name)) or _install_bundled(name)


def get_encoding(model: str):
    """The tiktoken encoding for a model, or None when it is not available offline."""
    name = encoding_name(model)
    with _lock:
        if not _available(name):
            return None
        return _load(name, _cache_dir())


def built_encoding(model: str):
    """tiktoken's encoding for the model if this process has built it already, else None (at once: never builds)."""
    return _built.get((encoding_name(model), _cache_dir()))


def parsed_encoding(model: str) -> dict | None:
    """The model's encoding as data: {"name", "pat_str", "mergeable_ranks" (token bytes → id), "special_tokens"},
    from its kept parsed form without building tiktoken's encoder (its Rust tables take ~130 ms of CPU, under
    the GIL); tiktoken's own load the first time (which keeps the form). None when it is not available offline."""
    name = encoding_name(model)
    with _lock:
        if not _available(name):
            return None
        state = _state(name, _cache_dir())
        if state is None and _load(name, _cache_dir()) is not None:
            state = _state(name, _cache_dir())
        return state


def estimate_tokens(text: str) -> int:
    """About 4 characters a token for English; words and punctuation bound it from below."""
    if not text:
        return 0
    pieces = len(re.findall(r"\w+|[^\w\s]", text))
    return max(pieces, math.ceil(len(text) / 4))


def count_text(text: str, model: str) -> TokenCount:
    enc = get_encoding(model)
    if enc is None:
        return TokenCount(estimate_tokens(text), exact=False)
    exact = is_openai_model(model)  # another model's tokenizer gives other counts: tiktoken's is an estimate
    return TokenCount(len(enc.encode(text, disallowed_special=())), exact=exact, encoding=enc.name)


def count_messages(messages: list[dict], model: str) -> TokenCount:
    """Prompt tokens of a chat request, the way OpenAI counts them."""
    total, exact = REPLY_PRIMING, True
    for message in messages:
        total += TOKENS_PER_MESSAGE
        for text in (message.get("role", ""), message_text(message)):
            count = count_text(text, model)
            total += count.tokens
            exact = exact and count.exact
        if message.get("name"):
            total += TOKENS_PER_NAME + count_text(message["name"], model).tokens
        for call in message.get("tool_calls") or []:
            fn = call.get("function", {})
            total += count_text(fn.get("name", "") + fn.get("arguments", ""), model).tokens
    return TokenCount(total, exact)


def estimate_reason(model: str) -> str:
    """Why counting `model`'s text gives an estimate."""
    if not is_openai_model(model):
        return f"estimated: counted with OpenAI's tokenizer, {model} has its own"
    return f"estimated: {unavailable_reason()}"


def why_estimated(model: str) -> str | None:
    """Why counting `model`'s text gives estimates (no encoding here, or a model with its own tokenizer); None
    when its counts are tiktoken's own."""
    if get_encoding(model) is not None and is_openai_model(model):
        return None
    return estimate_reason(model)
