"""`%openai`: the session's magic. Its subcommands live in command modules behind the router; this class
also carries the traitlets (`%config OpenAIMagics.chat_model = "…"`)."""
from __future__ import annotations

from IPython.core.magic import line_magic, magics_class, no_var_expand
from traitlets import Float, Int, Unicode, observe

from openai_magics.core.errors import UsageError
from openai_magics.core.session import session
from openai_magics.magics.kit import GuardedMagics


TIMEOUTS = ("timeout", "connect_timeout", "first_byte_timeout", "generation_timeout", "idle_timeout", "flex_timeout")


@magics_class
class OpenAIMagics(GuardedMagics):
    chat_model = Unicode(None, allow_none=True, help="Default model for %%chat.").tag(config=True)
    embed_model = Unicode(None, allow_none=True, help="Default model for %%embed.").tag(config=True)
    image_model = Unicode(None, allow_none=True, help="Default model for %%image.").tag(config=True)
    transcribe_model = Unicode(None, allow_none=True, help="Default model for %%transcribe.").tag(config=True)
    speech_model = Unicode(None, allow_none=True, help="Default model for %%speak.").tag(config=True)
    api = Unicode(None, allow_none=True, help="auto, chat or responses.").tag(config=True)
    max_tokens = Int(None, allow_none=True, help="Default cap on answer tokens.").tag(config=True)
    connect_timeout = Float(None, allow_none=True, help="Seconds to open a connection.").tag(config=True)
    first_byte_timeout = Float(None, allow_none=True, help="Seconds for an answer to start when it streams or "
                               "comes quickly (embeddings, lists).").tag(config=True)
    generation_timeout = Float(None, allow_none=True, help="Seconds for a non-streamed generation (--no-stream, "
                               "images, audio) to start: it comes once written whole.").tag(config=True)
    idle_timeout = Float(None, allow_none=True, help="The longest silence, in seconds, once an answer has "
                         "started.").tag(config=True)
    flex_timeout = Float(None, allow_none=True, help="The least every wait is, in seconds, for a --tier flex "
                         "request (default 900: flex answers start late).").tag(config=True)
    timeout = Float(None, allow_none=True, help="Sets every wait after connecting (first byte, generation, "
                    "idle) at once.").tag(config=True)
    max_retries = Int(None, allow_none=True, help="Retries on 429/5xx/timeouts.").tag(config=True)

    def __init__(self, shell=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        self._apply_all()

    @observe("chat_model", "embed_model", "image_model", "transcribe_model", "speech_model",
             "api", "max_tokens", "max_retries", *TIMEOUTS)
    def _config_changed(self, change):
        self._apply(change["name"], change["new"])

    def _apply_all(self):
        for name in sorted(self.trait_names(config=True), key=lambda n: n != "timeout"):  # the shorthand first
            if getattr(self, name) is not None:
                self._apply(name, getattr(self, name))

    def _apply(self, name, value):
        if value is None:
            return
        s = session()
        if name.endswith("_model"):
            s.config.models[name.removesuffix("_model")] = value
        elif name == "api" and value not in ("auto", "chat", "responses"):
            raise UsageError(f"OpenAIMagics.api must be auto, chat or responses, not {value!r}.")
        elif name in ("max_tokens", *TIMEOUTS) and not 0 < value < float("inf"):
            _refuse(f"OpenAIMagics.{name} must be a positive number, not {value!r}; nothing changed.")
        elif name == "max_retries" and not 0 <= value <= 20:
            _refuse(f"OpenAIMagics.max_retries must be from 0 to 20, not {value!r}; nothing changed.")
        else:
            s.configure(**{name: value})

    @no_var_expand
    @line_magic
    def openai(self, line: str):
        """The OpenAI session of this kernel: `%openai` alone shows its status, `%openai -h` lists the
        subcommands, `%openai SUBCOMMAND -h` shows one's options."""
        from openai_magics.magics.commands import run

        return run(line, self.shell)


def _refuse(message: str) -> None:
    """A setting that cannot work, said in one line and left out (raising here would also break every later
    load of the extension, which applies the same configuration again)."""
    import sys

    print(f"⚠ {message}", file=sys.stderr)
