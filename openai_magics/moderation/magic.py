"""`%moderate TEXT` / `%%moderate`: is this text flagged, and for what."""
from __future__ import annotations

from IPython.core.magic import magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from openai_magics.moderation.check import MODERATION_MODEL
from openai_magics.core.session import session
from openai_magics.magics.kit import GuardedMagics, bind, expand, line_or_cell_magic, require_text, shared_options


@magics_class
class ModerationMagics(GuardedMagics):
    @magic_arguments()
    @shared_options("model", "output", "quiet", "no_interpolate")
    @argument("--lines", action="store_true", help="Each line of the cell is a text of its own.")
    @line_or_cell_magic(what="the text to check")
    def moderate(self, args, text: str):
        """Check a text with the moderation endpoint (free): flagged categories and their scores."""
        from openai_magics.moderation.engine import run_moderation
        from openai_magics.moderation.request import ModerationRequest

        body = require_text(expand(text, self.shell, not args.no_interpolate), "the text")
        texts = [t for t in body.splitlines() if t.strip()] if args.lines else [body]
        result = run_moderation(session(), ModerationRequest(texts, args.model or MODERATION_MODEL))
        bind(self.shell, args.output, result)
        return None if args.quiet else result
