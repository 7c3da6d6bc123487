"""`%%eval --data df -m a,b --expect label --grader contains --grader model --judge-model M`: the cell is a
prompt template filled per row ({column}); below a line `--- rubric ---`, the model grader's rubric."""
from __future__ import annotations

from IPython.core.magic import cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments

from openai_magics.core.errors import Interrupted
from openai_magics.core.session import session
from openai_magics.magics.kit import GuardedMagics, bind, is_terminal, parse, require_text, shared_options, variable


@magics_class
class EvalMagics(GuardedMagics):
    @no_var_expand
    @magic_arguments()
    @argument("--data", required=True, metavar="NAME", help="The rows: a DataFrame, a list of dicts or of texts.")
    @shared_options("model", "system", "temperature", "max_tokens", "seed")
    @argument("--expect", metavar="COLUMN", help="The column holding the expected answer.")
    @argument("--grader", action="append", default=[], metavar="SPEC",
              help="equals, contains, icontains, regex:PATTERN, numeric:TOL, json, schema:NAME, similar:THRESHOLD, "
                   "model (repeatable).")
    @argument("--judge-model", metavar="MODEL", help="The model grader's model.")
    @argument("--rubric", metavar="NAME", help="A variable holding the model grader's rubric.")
    @shared_options("concurrency")
    @argument("--to-openai", action="store_true", help="Also run the eval on OpenAI's Evals API, reports side by side.")
    @shared_options("context", "context_tokens", "tier")
    @shared_options("output", "quiet", "no_cache", "dry_run")
    @cell_magic
    def eval(self, line: str, cell: str):
        """Evaluate a prompt over a dataset: every model answers every row; graders score each answer."""
        from openai_magics.evals.engine import run_eval
        from openai_magics.evals.graders import parse_grader
        from openai_magics.evals.request import DEFAULT_CONCURRENCY, EvalRequest, chat_options, rows_of, split_rubric

        args = parse(self.eval, line)
        if args is None:
            return None
        template, rubric = split_rubric(require_text(cell))
        if args.rubric:
            rubric = str(variable(self.shell, args.rubric, "--rubric"))
        ns = self.shell.user_ns
        s = session()
        models = [m.strip() for m in (args.model or s.model_for("chat")).split(",") if m.strip()]
        request = EvalRequest(template, rows_of(variable(self.shell, args.data, "--data")), models,
                              [parse_grader(g, ns) for g in args.grader], expect=args.expect,
                              judge_model=args.judge_model, rubric=rubric, namespace=ns, cache=not args.no_cache,
                              concurrency=DEFAULT_CONCURRENCY if args.concurrency is None else args.concurrency,
                              name=args.data, options=chat_options(args, template) | self._context(args, models[0]))
        if args.dry_run:
            from openai_magics.evals.engine import plan_eval

            plans = plan_eval(s, request)
            bind(self.shell, args.output, plans)
            return None if args.quiet else plans
        note = None
        if args.to_openai:
            from openai_magics.evals.remote import check_evals_api

            note = check_evals_api(s)
        from openai_magics.views.progress import NoRowProgress, RowProgress

        hidden = args.quiet or is_terminal(self.shell)
        result = run_eval(s, request, progress=NoRowProgress() if hidden else RowProgress())
        bind(self.shell, args.output, result)
        if result.interrupted:
            if not args.output:
                self.shell.displayhook.update_user_ns(result)
            raise Interrupted(f"{len(result.rows_done):,} finished rows kept in {args.output or '_'}")
        if args.to_openai:
            from openai_magics.evals.remote import run_on_openai

            if note:
                print(note)
            result.remote = run_on_openai(s, request)
        return None if args.quiet else result

    def _context(self, args, model: str) -> dict:
        """`--context`: the summaries made once, sent with every row's question."""
        from openai_magics.chat.options import context_of_args
        from openai_magics.core.errors import UsageError

        if args.context is None:
            if args.context_tokens is not None:
                raise UsageError("--context-tokens goes with --context. Nothing was sent.")
            return {}
        if args.to_openai:
            raise UsageError("--context is not sent to OpenAI's Evals API: drop --to-openai or --context. "
                             "Nothing was sent.")
        return {"context": context_of_args(args.context, args.context_tokens, self.shell, model)}
