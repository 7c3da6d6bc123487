"""What a chat message's text is, by the API's shape: the client counts it and the offline server reads it."""
from __future__ import annotations


def message_text(message: dict) -> str:
    """The text of a chat message (its text parts; images are counted separately)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""
