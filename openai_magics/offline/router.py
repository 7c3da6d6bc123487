"""Method + path routing with path parameters, and the modules under `offline/api/` that declare routes.

A route's path is written as in OpenAI's OpenAPI document, without `/v1` (`/files/{file_id}/content`), so
the same string finds the request schema to validate against. An endpoint module adds itself by declaring
`ROUTES = [Route("GET", "/files/{file_id}", retrieve), ...]` (a collection's usual ones made by
`collection(...)`); every module in `offline/api/` is read.
"""
from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import unquote

PREFIX = "/v1"
_PARAM = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Route:
    """`handler(state, request)` answers `method path`; `path` may hold `{name}` parameters."""

    method: str
    path: str
    handler: Callable
    pattern: re.Pattern = field(init=False, compare=False, repr=False)

    def __post_init__(self):
        literal = [re.escape(piece) for piece in _PARAM.split(self.path)[::2]]
        names = _PARAM.findall(self.path)
        regex = "".join(lit + (f"(?P<{names[i]}>[^/]+)" if i < len(names) else "") for i, lit in enumerate(literal))
        object.__setattr__(self, "pattern", re.compile(regex))

    def match(self, path: str) -> dict | None:
        found = self.pattern.fullmatch(path)
        return None if found is None else {k: unquote(v) for k, v in found.groupdict().items()}


def collection(path: str, item: str, *, create: Callable, list: Callable, retrieve: Callable,
               delete: Callable | None = None) -> list[Route]:
    """A collection's routes as OpenAI's API lays them out: POST (create) and GET (list) on `path`, GET (and
    DELETE) on one of its items, `path/{item}`."""
    routes = [Route("POST", path, create), Route("GET", path, list), Route("GET", f"{path}/{{{item}}}", retrieve)]
    return routes + ([Route("DELETE", f"{path}/{{{item}}}", delete)] if delete else [])


@dataclass(frozen=True)
class Match:
    route: Route | None
    params: dict
    allowed: tuple[str, ...] = ()  # methods the path answers, when the method given is not one of them


class Router:
    def __init__(self, routes: list[Route] = ()):
        self._routes: list[Route] = []
        for route in routes:
            self.add(route)

    def add(self, route: Route) -> None:
        if any(r.method == route.method and r.path == route.path for r in self._routes):
            raise ValueError(f"two handlers for {route.method} {route.path}")
        self._routes.append(route)

    def match(self, method: str, path: str) -> Match:
        """The route for `method` on a request path (`/v1/...`), with its parameters."""
        if not path.startswith(PREFIX + "/"):
            return Match(None, {})
        path = path[len(PREFIX):].rstrip("/") or "/"
        allowed = []
        for route in self._routes:
            params = route.match(path)
            if params is None:
                continue
            if route.method == method:
                return Match(route, params)
            allowed.append(route.method)
        return Match(None, {}, tuple(allowed))

    @property
    def routes(self) -> list[Route]:
        return list(self._routes)


def discover(package) -> Router:
    """Every `ROUTES` declared by a module of `package` (the endpoints, `openai_magics.offline.api`)."""
    router = Router()
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for route in getattr(module, "ROUTES", ()):
            router.add(route)
    return router
