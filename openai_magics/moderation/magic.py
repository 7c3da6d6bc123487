"""`%moderate TEXT` / `%%moderate`: is this text flagged, and for what."""
from __future__ import annotations

from IPython.core.magic import line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments

from openai_magics.wire.errors import UsageError
from openai_magics.moderation.check import MODERATION_MODEL
from openai_magics.core.session import session
from openai_magics.magics.kit import GuardedMagics, bind, expand, parse, require_text, shared_options


@magics_class
class ModerationMagics(GuardedMagics):
    @no_var_expand
    @magic_arguments()
    @shared_options("model", "output", "quiet", "no_interpolate")
    @argument("--lines", action="store_true", help="Each line of the cell is a text of its own.")
    @argument("text", nargs="*", help="With %%moderate (one line): the text to check.")
    @line_cell_magic
    def moderate(self, line: str, cell: str | None = None):
        """Check a text with the moderation endpoint (free): flagged categories and their scores."""
        from openai_magics.moderation.engine import run_moderation
        from openai_magics.moderation.request import ModerationRequest

        args = parse(self.moderate, line)
        if args is None:
            return None
        if cell is not None and args.text:
            raise UsageError(f"Unexpected text on the %%moderate line: {' '.join(args.text)!r}.")
        body = require_text(expand(cell if cell is not None else " ".join(args.text), self.shell,
                                   not args.no_interpolate), "the text")
        texts = [t for t in body.splitlines() if t.strip()] if args.lines else [body]
        result = run_moderation(session(), ModerationRequest(texts, args.model or MODERATION_MODEL))
        bind(self.shell, args.output, result)
        return None if args.quiet else result
