"""The IPython magics, one Magics class per group. Thin: parse, interpolate, call the session, display."""
from .chat import ChatMagics
from .embed import EmbedMagics
from .openai import OpenAIMagics
from .tokens import TokensMagics

MAGICS = (OpenAIMagics, ChatMagics, TokensMagics, EmbedMagics)
