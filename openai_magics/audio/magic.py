"""`%%transcribe` (one source per line) and `%%speak` (the cell is the text)."""
from __future__ import annotations

from IPython.core.magic import magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from openai_magics.audio.request import TIMESTAMPS, TRANSCRIPT_FORMATS
from openai_magics.core.errors import UsageError
from openai_magics.core.namespace import MISSING, resolve
from openai_magics.magics.kit import (GuardedMagics, bind, bind_then_save, expand, is_terminal, line_or_cell_magic,
                                      prompt_cell_magic, shared_options)


@magics_class
class AudioMagics(GuardedMagics):
    @magic_arguments()
    @shared_options("model")
    @argument("--language", help="The audio's language (ISO-639-1, e.g. en): faster and more accurate.")
    @argument("--prompt", help="Text that guides spelling and style (names, jargon).")
    @argument("--format", choices=TRANSCRIPT_FORMATS,
              help="text, json, verbose_json (segments with times), srt or vtt (subtitles).")
    @argument("--timestamps", choices=TIMESTAMPS, action="append", default=[],
              help="segment and/or word times (whisper-1). Repeatable.")
    @argument("--translate", action="store_true", help="Translate into English (whisper-1).")
    @argument("--rate", type=int, help="Sample rate of a numpy array source.")
    @shared_options("output", "quiet", "no_interpolate", "no_cache")
    @line_or_cell_magic(words="source", what="the source")
    def transcribe(self, args, body: str):
        """Transcribe audio: one source per line (a path, URL, or a variable holding bytes, a Path, or a numpy
        array with --rate). Files over the upload limit are cut at silences and stitched."""
        from openai_magics.audio.facade import transcribe

        lines = [ln.strip() for ln in (expand(body, self.shell, not args.no_interpolate) or "").splitlines()]
        sources = [(self._value(ln), ln) for ln in lines if ln]
        if not sources:
            raise UsageError("Nothing to transcribe: give one source per line (a path, URL or variable).")
        live = None if args.quiet else _live(self.shell)
        try:
            result = transcribe(sources, model=args.model, language=args.language, prompt=args.prompt,
                                format=args.format, timestamps=args.timestamps, translate=args.translate,
                                rate=args.rate, cache=not args.no_cache, on_text=live)
        finally:
            if live is not None:
                live.done()
        bind(self.shell, args.output, result)
        return None if args.quiet else result

    @prompt_cell_magic(
        argument("-v", "--voice", default="alloy", help="The voice (alloy, ash, coral, echo, nova, sage, shimmer…)."),
        argument("--instructions", help="How to speak (gpt-4o-mini-tts): tone, pace, accent."),
        argument("--format", default="mp3", help="mp3 (default), opus, aac, flac, wav or pcm."),
        argument("--speed", type=float, help="0.25 to 4.0 (default 1)."),
        argument("--save", metavar="PATH", help="Also write the audio to this file (or folder)."),
        what="the text")
    def speak(self, args, text: str):
        """Say the cell's text: an audio player, and the audio in the result (`bytes(_)`, `.save(path)`)."""
        from openai_magics.audio.facade import speak

        result = speak(text, model=args.model, voice=args.voice, format=args.format, speed=args.speed,
                       instructions=expand(args.instructions, self.shell, not args.no_interpolate),
                       cache=not args.no_cache)
        saved = bind_then_save(self.shell, args.output, result, args.save, "audio")
        return None if args.quiet and saved else result

    def _value(self, line: str):
        """A notebook variable when the line names one, else the path or URL as written."""
        if line[:1].isidentifier() and not line.startswith(("http://", "https://")):
            value = resolve(line, self.shell.user_ns)
            if value is not MISSING:
                return value
        return line


class _StreamedTranscript:
    """The transcript as it streams: a terminal prints it, a notebook shows it in a views.live LiveHtml."""

    def __init__(self, shell):
        from openai_magics.views.live import LiveHtml

        self.terminal = is_terminal(shell)
        self.text, self._live = "", None if self.terminal else LiveHtml()

    def __call__(self, delta: str) -> None:
        import html

        self.text += delta
        if self.terminal:
            print(delta, end="", flush=True)
        else:
            self._live.show(f"<p>{html.escape(self.text)}</p>")

    def done(self) -> None:
        if self.terminal and self.text:
            print()
        if self._live is not None:
            self._live.retire()


def _live(shell):
    return _StreamedTranscript(shell)
