"""The error an endpoint raises for a request the real API would refuse."""


class RequestError(Exception):
    """A 4xx the real API would give (400 unless said otherwise), with its error code."""

    def __init__(self, message: str, code: str | None = None, param: str | None = None, status: int = 400):
        super().__init__(message)
        self.code, self.param, self.status = code, param, status


def shorten(text: str, limit: int) -> str:
    """One line of at most `limit` characters: whitespace runs collapsed, the rest cut with "…" (a long JSON keeps
    its start, where `textwrap.shorten` would drop it whole)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def not_found(kind: str, identifier: str, param: str | None = None) -> RequestError:
    """What the API says for an id it does not know: `No such File object: file-abc`."""
    return RequestError(f"No such {kind} object: {identifier}", param=param, status=404)


def known(found: dict, identifier: str, kind: str, param: str):
    """`found[identifier]`, or the 404 the API gives for an id it does not know."""
    if identifier not in found:
        raise not_found(kind, identifier, param=param)
    return found[identifier]
