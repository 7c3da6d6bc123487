"""`%fix` / `%explain`: the last error, its cell and the variables it uses, asked about; extra words are the
user's question. `%fix` puts the corrected cell into the next input and never runs it."""
from __future__ import annotations

from IPython.core.magic import line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments

from openai_magics.magics.kit import GuardedMagics, bind, is_terminal, parse, shared_options
from openai_magics.core.errors import Interrupted


def _options(magic_fn):
    """The options %fix and %explain share."""
    for decorate in reversed((
        no_var_expand, magic_arguments(), shared_options("model"),
        argument("--context-tokens", type=int, metavar="N",
                 help="The most tokens the summaries of the cell's variables take (default 2000)."),
        shared_options("output", "quiet", "no_cache", "dry_run"),
        argument("question", nargs="*", help="Your question about the error (optional)."),
    )):
        magic_fn = decorate(magic_fn)
    return magic_fn


@magics_class
class FixMagics(GuardedMagics):
    @_options
    @line_magic
    def fix(self, line: str = ""):
        """Fix the last error: the corrected cell goes into the next input (not run)."""
        return self._ask("fix", parse(self.fix, line))

    @_options
    @line_magic
    def explain(self, line: str = ""):
        """Explain the last error in prose."""
        return self._ask("explain", parse(self.explain, line))

    def _ask(self, kind: str, args):
        if args is None:
            return None
        from openai_magics.fix.facade import ask_about_error

        view = None if args.quiet or args.dry_run else _stream_view(self.shell)
        result = ask_about_error(kind, " ".join(args.question), model=args.model, context_tokens=args.context_tokens,
                                 dry_run=args.dry_run, cache=not args.no_cache, stream=view is not None, view=view,
                                 shell=self.shell)
        bind(self.shell, args.output, result)
        if getattr(result, "interrupted", False):  # a part of a cell is no fix: nothing goes into the next input
            if not args.output:
                self.shell.displayhook.update_user_ns(result)
            raise Interrupted(f"partial answer kept in {args.output or '_'}")
        if kind == "fix" and not args.dry_run:
            print(_where_the_fix_went(result, "your next prompt" if is_terminal(self.shell) else "the next input"))
        if args.quiet or is_terminal(self.shell) and view is not None:
            return None
        return result


def _where_the_fix_went(result, where: str) -> str:
    if result.incomplete:
        return f"The answer is incomplete ({result.incomplete}): nothing was put in {where}."
    if result.code:
        return f"The corrected cell is in {where}: read it, then run it."
    return f"The answer holds no corrected cell: nothing was put in {where}."


def _stream_view(shell):
    from openai_magics.chat.stream_view import TerminalStreamView, WidgetStreamView

    return TerminalStreamView() if is_terminal(shell) else WidgetStreamView()
