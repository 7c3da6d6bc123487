"""The offline OpenAI-compatible server: real HTTP on 127.0.0.1, deterministic answers, faults on demand."""
from openai_magics.offline.server import OfflineServer, find_openapi_document

__all__ = ["OfflineServer", "find_openapi_document", "start_for"]


def start_for(session, **server_options) -> OfflineServer:
    """Start the bundled server (once per session) and point the session at it."""
    server = session.offline_server
    if server is None or not server.running:
        server = OfflineServer(openapi=find_openapi_document(), validate_apart=True, **server_options).start()
    session.attach_offline(server)
    return server
