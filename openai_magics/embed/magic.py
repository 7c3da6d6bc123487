"""`%%embed` / `%embed`: the cell's non-empty lines (or `--input NAME`) as vectors."""
from __future__ import annotations

from IPython.core.magic import magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from openai_magics.core.errors import UsageError
from openai_magics.magics.kit import (GuardedMagics, bind, expand, is_terminal, line_or_cell_magic, shared_options,
                                      variable)


@magics_class
class EmbedMagics(GuardedMagics):
    @magic_arguments()
    @shared_options("model")
    @argument("--dimensions", type=int, help="Shorter vectors (text-embedding-3 models).")
    @argument("--input", metavar="NAME",
              help="Embed this variable instead of the cell: a str, a list of str, a pandas Series, "
                   "or a DataFrame column (df.text or df['text']).")
    @argument("--truncate", action="store_true", help="Cut inputs over the model's token limit to fit.")
    @shared_options("concurrency")
    @argument("--pool", choices=("mean",),
              help="mean: average the per-token vectors of a server that does not pool (llama.cpp).")
    @shared_options("batch", "no_wait")
    @argument("--store", metavar="PATH",
              help="Write the vectors to this on-disk store (LanceDB) a chunk at a time, with their texts and ids; "
                   "alone, open the store. Its search() and similarity() run against it.")
    @argument("--column", metavar="NAME", default="text",
              help="With --input PATH.parquet: the column of texts (default text).")
    @shared_options("output", "quiet", "no_interpolate", "no_cache", "dry_run")
    @argument("--forget", action="store_true",
              help="Forget the vectors this session keeps in memory (frees it after deleting a big result).")
    @line_or_cell_magic()
    def embed(self, args, body: str):
        """Embed each non-empty line of the cell (or the rest of the line, or --input NAME)."""
        from openai_magics.embed.facade import embed

        if args.forget:
            return _forget(args, body)
        if args.store:
            return self._store(args, body)
        inputs, what = self._inputs(args, body)
        if args.dry_run:
            return self._plan(args, inputs, what)
        if args.batch:
            return self._batch(args, inputs, what)
        if args.no_wait:
            raise UsageError("--no-wait goes with --batch.")
        progress = None if args.quiet or is_terminal(self.shell) else _progress()
        result = embed(inputs, model=args.model, dimensions=args.dimensions, truncate=args.truncate,
                       concurrency=args.concurrency, progress=progress, cache=not args.no_cache, what=what,
                       pool=args.pool)
        bind(self.shell, args.output, result)
        return None if args.quiet else result

    def _plan(self, args, inputs, what: str):
        from openai_magics.core.session import session
        from openai_magics.embed.plan import plan_embed
        from openai_magics.embed.request import as_texts

        s = session()
        plan = plan_embed(s, as_texts(inputs, what), s.model_for("embed", args.model))
        bind(self.shell, args.output, plan)
        return None if args.quiet else plan
    def _store(self, args, body: str):
        """`--store PATH`: the texts embedded into the store (from the cell, a variable or a Parquet file);
        nothing to embed opens it."""
        from pathlib import Path

        from openai_magics.embed.facade import embed

        if args.batch:
            raise UsageError("--store does not take --batch: a batch's vectors come back from its own files.")
        if args.input and args.input.endswith(".parquet") and args.input not in self.shell.user_ns and not body.strip():
            inputs, what = Path(args.input).expanduser(), args.input
        elif args.input or body.strip():
            inputs, what = self._inputs(args, body)
        else:
            inputs, what = None, "the store"
        progress = None if args.quiet or is_terminal(self.shell) else _progress()
        result = embed(inputs, model=args.model, dimensions=args.dimensions, truncate=args.truncate,
                       concurrency=args.concurrency, progress=progress, cache=not args.no_cache, what=what,
                       pool=args.pool, store=args.store, column=args.column)
        bind(self.shell, args.output, result)
        return None if args.quiet else result

    def _batch(self, args, inputs, what: str):
        from openai_magics.core.session import session
        from openai_magics.embed.batched import embed_batch
        from openai_magics.embed.request import DEFAULT_CONCURRENCY, EmbedRequest, as_texts
        from openai_magics.views.progress import NoRowProgress, RowProgress

        s = session()
        request = EmbedRequest(as_texts(inputs, what), s.model_for("embed", args.model), args.dimensions,
                               args.truncate, DEFAULT_CONCURRENCY, cache=False, pool=args.pool)
        hidden = args.quiet or is_terminal(self.shell)
        result = embed_batch(s, request, name=args.input or what, wait=not args.no_wait,
                             progress=NoRowProgress() if hidden else RowProgress())
        bind(self.shell, args.output, result)
        return None if args.quiet else result

    def _inputs(self, args, body: str):
        """What to embed, and how to name it in an error."""
        if args.input:
            if body.strip():
                raise UsageError("Give the texts either in the cell or with --input, not both.")
            return variable(self.shell, args.input, "--input"), args.input
        body = expand(body, self.shell, not args.no_interpolate)
        if not args.in_cell:
            return [body] if body.strip() else [], "the line"
        return [t for t in body.splitlines() if t.strip()], "the cell"


def _forget(args, body: str) -> None:
    from openai_magics.core.session import session
    from openai_magics.embed.engine import VectorCaches

    if args.input or body.strip():
        raise UsageError("--forget embeds nothing: use it alone, `%embed --forget`.")
    held = session().part(VectorCaches).clear()
    print(f"Forgot {held:,} vector{'s' * (held != 1)} kept in memory (the cache file, if on, keeps its own).")


def _progress():
    from openai_magics.views.progress import RowProgress

    return RowProgress()
