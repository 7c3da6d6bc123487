"""`%%chat` / `%chat`: the cell is the user message."""
from __future__ import annotations

from IPython.core.magic import magics_class
from IPython.core.magic_arguments import argument, argument_group, magic_arguments

from openai_magics.core.cell import current_cell
from openai_magics.core.errors import Interrupted, UsageError
from openai_magics.core.session import session
from openai_magics.chat.options import request_from_args
from openai_magics.chat.request import APIS, DETAILS, EFFORTS, ChatRequest
from openai_magics.magics.kit import (GuardedMagics, bind, check_positive, expand, is_terminal, line_or_cell_magic,
                                      require_text, shared_options, variable)

FORMATS = ("markdown", "text", "code")


@magics_class
class ChatMagics(GuardedMagics):
    @magic_arguments()
    @shared_options("model", "system", "temperature", "max_tokens")
    @argument("--stop", action="append", default=[], help="A stop sequence (repeatable).")
    @shared_options("seed")
    @argument("--reasoning-effort", choices=EFFORTS, help="How hard a reasoning model thinks.")
    @argument("--summary", action="store_true",
              help="Show a reasoning model's summary of its thinking (Responses API).")
    @argument("--thread", help="Continue the named conversation.")
    @argument("--new", action="store_true", help="Start the --thread afresh.")
    @argument("--api", choices=APIS, help="auto: Responses on OpenAI's endpoint, Chat Completions elsewhere.")
    @argument("--no-stream", action="store_true", help="Wait for the whole answer instead of streaming it.")
    @argument("--format", choices=FORMATS, default="markdown",
              help="markdown (rendered), text (plain), or code (the answer's code into a new cell below).")
    @argument("--logprobs", nargs="?", const=5, type=int, metavar="N",
              help="Each answer token's probability and its N likeliest alternatives (default 5) in .logprobs; with "
                   "--over, a confidence column.")
    @shared_options("output", "quiet", "no_interpolate", "no_cache", "dry_run")
    @argument("--moderate", action="store_true",
              help="Check the prompt before sending and the answer as it arrives (moderation is free); with --over, "
                   "every row's.")
    @argument_group("Structured output and function tools")
    @argument("--schema", metavar="NAME", help="Structured output: a pydantic model or JSON-schema dict; -o binds the object.")
    @argument("--json", action="store_true", help="JSON mode: the answer parsed into Python (say 'JSON' in the prompt).")
    @argument("--tools", metavar="F,G", help="Functions the model may call; the call loop runs them.")
    @argument("--max-rounds", type=int, help="Most tool-call rounds (default 8).")
    @argument_group("Images")
    @argument("--image", action="append", default=[], metavar="SRC",
              help="An image: path, URL, or a variable (PIL image, numpy array, figure, bytes, Path). Repeatable.")
    @argument("--detail", choices=DETAILS, help="Image detail: low is cheap (85 tokens), high reads small print.")
    @argument_group("Hosted tools (Responses API)")
    @argument("--web", action="store_true", help="Let the model search the web (Responses web_search): numbered "
                                                 "citations, the sources on .sources.")
    @argument("--domains", metavar="A,B", help="With --web: search only these domains.")
    @argument("--location", metavar="CITY,COUNTRY", help="With --web: where the user is (Paris,FR).")
    @argument("--files", metavar="STORE", help="Let the model search a store made with %%openai store create "
                                               "(file_search): citations name the file and quote the passage.")
    @argument("-k", type=int, help="With --files: most passages the search returns (1-50).")
    @argument("--python", action="store_true", help="Let the model run Python in a container (code_interpreter): "
                                                    "charts shown inline, other files on .files.")
    @argument("--file", action="append", default=[], metavar="VAR|PATH",
              help="With --python: a DataFrame (uploaded as CSV) or a file for the container. Repeatable.")
    @argument_group("Notebook context")
    @shared_options("context", "context_tokens")
    @argument_group("Many answers")
    @argument("--compare", metavar="A,B,C",
              help="Send the prompt to these models at once; answers side by side. Not with --over: run the cell "
                   "once per model.")
    @argument("--over", metavar="NAME",
              help="A list, Series or DataFrame: the cell is a template asked once per row ({item}, {column}, "
                   "{row[\"any column\"]}); the answers come back aligned with it.")
    @shared_options("concurrency", "batch", "no_wait")
    @argument("--to", metavar="PATH.parquet",
              help="With --over: write each answer to this Parquet folder as it arrives (memory stays bounded); "
                   "the result reads it lazily.")
    @argument("--resume", action="store_true",
              help="With --to: ask only the rows the folder does not hold yet (after a restart; nothing paid twice).")
    @argument_group("Price and latency")
    @shared_options("tier")
    @argument("--cache-key", metavar="KEY",
              help="prompt_cache_key: prompts that share a long prefix and a key are cached together (--over sets "
                   "one per template).")
    @argument("--cache-retention", choices=("in_memory", "24h"),
              help="With --cache-key: how long the cached prefix lasts (24h: extended prompt caching).")
    @argument("--background", action="store_true",
              help="Run on the server (Responses background mode): the cell returns at once with the id; "
                   "`%%openai jobs` lists it, `%%openai background collect ID` fetches the answer.")
    @line_or_cell_magic(words="prompt", what="the message")
    def chat(self, args, body: str):
        """Ask a chat model; the cell body (or the rest of the line) is the user message."""
        from openai_magics.chat.options import check_options, modes_of

        check_options(args, modes_of(args))
        if args.over:
            return self._run_over(args, body)
        return self._run(args, body)

    def _run_over(self, args, template: str):
        from dataclasses import replace

        from openai_magics.chat.over import DEFAULT_CONCURRENCY, run_over
        from openai_magics.chat.rows import as_rows, prompts

        check_positive(args.concurrency, "--concurrency")
        rows = as_rows(variable(self.shell, args.over, "--over"), args.over)
        template = require_text(template)
        texts = prompts(template, rows, self.shell.user_ns) if not args.no_interpolate else [template] * len(rows)
        if not texts:
            raise UsageError(f"--over {args.over}: there are no rows.")
        s = session()
        first = request_from_args(args, self.shell, prompt=texts[0], model=s.model_for("chat", args.model),
                                      stream=False)  # the schema, tools and images looked up and encoded once
        if first.cache_key is None and not args.batch:  # the rows share the template's prefix: one cache key
            from openai_magics.chat.levers import template_cache_key

            first = replace(first, cache_key=template_cache_key(template, first.system))

        def make_request(prompt: str) -> ChatRequest:
            return replace(first, prompt=prompt)

        if args.dry_run:
            from openai_magics.chat.plan import plan_requests

            plan = plan_requests(s, [make_request(t) for t in dict.fromkeys(texts)], what="rows")
            bind(self.shell, args.output, plan)
            return None if args.quiet else plan
        progress = _row_progress(args.quiet or is_terminal(self.shell))
        if args.batch:
            from openai_magics.chat.over import as_batch

            result = as_batch(s, rows, texts, make_request, template=template, wait=not args.no_wait,
                              progress=progress, parsed=bool(args.schema or args.json),
                              say=_silent if args.quiet else print)
            bind(self.shell, args.output, getattr(result, "series", result))
            return None if args.quiet else result
        if args.to:
            return self._run_over_to(args, s, rows, texts, first, make_request, progress)
        confidences: dict[str, float | None] = {}
        result = run_over(s, rows, texts, make_request, concurrency=args.concurrency or DEFAULT_CONCURRENCY,
                          progress=progress, parsed=bool(args.schema or args.json),
                          run_chat=_keeping_confidence(confidences) if args.logprobs is not None else None)
        if args.logprobs is not None:
            result.confidence = [confidences.get(text) for text in texts]
        bind(self.shell, args.output, result.series)
        if result.interrupted:
            if not args.quiet:
                self.shell.display_pub.publish(_bundle(result))
            raise KeyboardInterrupt
        return None if args.quiet else result

    def _run_over_to(self, args, s, rows, texts, first, make_request, progress):
        """`--over --to PATH`: only the rows the folder lacks are asked; each answer written as it arrives."""
        from openai_magics.chat.over import DEFAULT_CONCURRENCY, run_over
        from openai_magics.chat.sink import ParquetSink, WrittenRows

        sink = ParquetSink(args.to, first.model, texts, args.resume)
        try:
            result = run_over(s, rows, texts, make_request,
                              concurrency=args.concurrency or DEFAULT_CONCURRENCY, progress=progress,
                              parsed=bool(args.schema or args.json), sink=sink)
        finally:
            sink.close()
            sink.mark_from_file(s.ledger)
        written = WrittenRows(sink.path, rows.labels, rows.index, model=result.model or first.model,
                              records=list(sink.ledger_rows.rows.values()), asked=result.asked, before=sink.before,
                              interrupted=result.interrupted, notes=result.notes)
        bind(self.shell, args.output, written)
        if result.interrupted:
            if not args.quiet:
                print(written.summary)
            raise KeyboardInterrupt
        return None if args.quiet else written

    def _run(self, args, body: str):
        from openai_magics.chat.engine import run_chat

        prompt = require_text(expand(body, self.shell, not args.no_interpolate))
        s = session()
        compare = self._compared(args)
        model = compare[0] if compare else s.model_for("chat", args.model)
        request = request_from_args(args, self.shell, prompt=prompt, model=model, stream=not args.no_stream)
        if compare:
            return self._compare(args, request, compare)
        if args.dry_run or args.background:  # the request as it would go, or a background response's id
            from dataclasses import replace

            result = run_chat(s, request if args.dry_run else replace(request, stream=False))
            bind(self.shell, args.output, result)
            return None if args.quiet else result
        result = run_chat(s, request, self._view(args))
        result.format = args.format
        bind(self.shell, args.output, result.parsed if args.schema or args.json else result)
        if result.interrupted:
            self._keep_partial(args, result)
        if args.format == "code":
            _insert_code_once(self.shell, result.code or result.text)
        if args.quiet or is_terminal(self.shell) and not args.no_stream:
            return None
        return result

    def _compared(self, args) -> list[str]:
        """The models of --compare (or of -m a,b,c); [] for one model."""
        if not args.compare:
            return []
        from openai_magics.chat.compare import compared_models

        if args.format == "code":
            raise UsageError("--format code takes one answer: drop it with --compare.")
        return compared_models(args.compare)

    def _compare(self, args, first, models: list[str]):
        """The same request, once per model, all at once; the answers side by side."""
        from dataclasses import replace

        from openai_magics.chat.compare import run_compare
        from openai_magics.chat.engine import run_chat

        requests = [first] + [replace(first, model=m) for m in models[1:]]
        if args.dry_run:
            plans = [run_chat(session(), r) for r in requests]
            bind(self.shell, args.output, plans)
            return None if args.quiet else plans
        compared = run_compare(session(), requests, run_chat)
        for result in compared.results:
            result.format = args.format
        kept = [r.parsed for r in compared.results] if args.schema or args.json else compared
        bind(self.shell, args.output, kept)
        return None if args.quiet else compared

    def _keep_partial(self, args, result):
        """Show what arrived once (a terminal already streamed it), keep it, and stop the run in one line."""
        if not args.quiet and not (is_terminal(self.shell) and not args.no_stream):
            self.shell.display_pub.publish(_bundle(result))
        if not args.output:
            self.shell.displayhook.update_user_ns(result)  # `_`, as if the cell had returned it
        raise Interrupted(f"partial answer kept in {args.output or '_'}")

    def _view(self, args):
        from openai_magics.chat.stream_view import TerminalStreamView, WidgetStreamView

        if args.quiet or args.no_stream:
            return None
        return TerminalStreamView() if is_terminal(self.shell) else WidgetStreamView()


def _keeping_confidence(confidences: dict):
    """`run_chat` for --over --logprobs: each row's answer, its confidence kept by prompt."""
    from openai_magics.chat.engine import run_chat

    def asking(session, request):
        result = run_chat(session, request)
        confidences[request.prompt] = result.confidence
        return result

    return asking
def _silent(_line: str) -> None:
    pass


def _row_progress(hidden: bool):
    from openai_magics.views.progress import NoRowProgress, RowProgress

    return NoRowProgress() if hidden else RowProgress()


def _bundle(result) -> dict:
    from IPython.core.formatters import format_display_data

    return format_display_data(result)[0]


INSERTED_MARK = "# The code of the %%chat --format code answer above"  # how a re-run knows the cell it inserted


class InsertedCode(dict):
    """Cell id → the code `--format code` put in a new cell below it, for the kernel's life."""


def _insert_code_once(shell, text: str) -> None:
    """The answer's code in a new cell below, once per cell: a kernel can add a cell but not replace the one it
    added before, so a re-run, in this kernel or a fresh one on the saved notebook, says where its code is
    instead of adding another cell each time."""
    from openai_magics.core.cell import saved_cell_after

    _number, cell_id = current_cell()
    inserted = session().part(InsertedCode)
    if cell_id is not None and (cell_id in inserted or (saved_cell_after(cell_id) or "").startswith(INSERTED_MARK)):
        print("The code this cell inserted on an earlier run is in the cell below; a kernel cannot replace that "
              "cell, so it is not inserted again (copy this answer's code from it).")
        return
    if cell_id is not None:
        inserted[cell_id] = text
    shell.set_next_input(f"{INSERTED_MARK}\n{text}", replace=False)
