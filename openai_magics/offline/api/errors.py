"""The error an endpoint raises for a request the real API would refuse."""


class RequestError(Exception):
    """A 400 the real API would give, with its error code."""

    def __init__(self, message: str, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.code, self.param = code, param
