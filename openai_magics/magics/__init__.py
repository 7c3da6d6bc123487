"""The IPython magics, one Magics class per group. Thin: parse, interpolate, call the session, display."""
from .chat import ChatMagics
from .openai import OpenAIMagics
from .tokens import TokensMagics

MAGICS = (OpenAIMagics, ChatMagics, TokensMagics)
