"""The offline OpenAI-compatible server (SPEC §9)."""
from .server import OfflineServer, find_openapi_document

__all__ = ["OfflineServer", "find_openapi_document"]
