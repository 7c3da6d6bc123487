"""`%%chat` / `%chat`: the cell is the user message."""
from __future__ import annotations

from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments

from openai_magics.core.cell import current_cell, turn_key
from openai_magics.core.errors import Interrupted, UsageError
from openai_magics.core.session import session
from openai_magics.chat.request import APIS, DETAILS, EFFORTS, ChatRequest
from openai_magics.magics.kit import bind, check_positive, expand, is_terminal, parse, require_text, shared_options, variable

FORMATS = ("markdown", "text", "code")


@magics_class
class ChatMagics(Magics):
    @no_var_expand
    @magic_arguments()
    @shared_options("model")
    @argument("-s", "--system", help="System prompt.")
    @argument("-t", "--temperature", type=float, help="Sampling temperature, 0 to 2.")
    @argument("--max-tokens", type=int, help="Most tokens the answer may use (reasoning included).")
    @argument("--stop", action="append", default=[], help="A stop sequence (repeatable).")
    @argument("--seed", type=int, help="Seed for more reproducible sampling (Chat Completions only).")
    @argument("--reasoning-effort", choices=EFFORTS, help="How hard a reasoning model thinks.")
    @argument("--summary", action="store_true",
              help="Show a reasoning model's summary of its thinking (Responses API).")
    @argument("--thread", help="Continue the named conversation.")
    @argument("--new", action="store_true", help="Start the --thread afresh.")
    @argument("--api", choices=APIS, help="auto: Responses on OpenAI's endpoint, Chat Completions elsewhere.")
    @argument("--no-stream", action="store_true", help="Wait for the whole answer instead of streaming it.")
    @argument("--format", choices=FORMATS, default="markdown",
              help="markdown (rendered), text (plain), or code (the answer's code into a new cell below).")
    @shared_options("output", "quiet", "no_interpolate", "no_cache")
    @argument("--schema", metavar="NAME", help="Structured output: a pydantic model or JSON-schema dict; -o binds the object.")
    @argument("--json", action="store_true", help="JSON mode: the answer parsed into Python (say 'JSON' in the prompt).")
    @argument("--tools", metavar="F,G", help="Functions the model may call; the call loop runs them.")
    @argument("--max-rounds", type=int, help="Most tool-call rounds (default 8).")
    @argument("--image", action="append", default=[], metavar="SRC",
              help="An image: path, URL, or a variable (PIL image, numpy array, figure, bytes, Path). Repeatable.")
    @argument("--detail", choices=DETAILS, help="Image detail: low is cheap (85 tokens), high reads small print.")
    @argument("--compare", metavar="A,B,C", help="Send the prompt to these models at once; answers side by side.")
    @argument("--moderate", action="store_true",
              help="Check the prompt before sending and the answer as it arrives (moderation is free).")
    @shared_options("dry_run")
    @argument("--over", metavar="NAME",
              help="A list, Series or DataFrame: the cell is a template asked once per row ({item}, {column}, "
                   "{row[\"any column\"]}); the answers come back aligned with it.")
    @argument("--concurrency", type=int, help="With --over: most requests in flight at once (default 8).")
    @argument("--batch", action="store_true",
              help="With --over: run the rows through the Batch API (half price, results within a day).")
    @argument("--no-wait", action="store_true",
              help="With --batch: submit and return at once; `%%openai batch results ID` collects it.")
    @argument("prompt", nargs="*", help="With %%chat (one line): the message.")
    @line_cell_magic
    def chat(self, line: str, cell: str | None = None):
        """Ask a chat model; the cell body (or the rest of the line) is the user message."""
        args = parse(self.chat, line)
        if args is None:
            return None
        if cell is not None and args.prompt:
            raise UsageError(f"Unexpected text on the %%chat line: {' '.join(args.prompt)!r}.")
        body = cell if cell is not None else " ".join(args.prompt)
        if args.over:
            return self._run_over(args, body)
        return self._run(args, body)

    def _run_over(self, args, template: str):
        from openai_magics.chat.over import DEFAULT_CONCURRENCY, run_over
        from openai_magics.core.rows import as_rows, prompts

        if args.thread or args.dry_run:
            raise UsageError("--over asks each row on its own: drop --thread and --dry-run.")
        check_positive(args.concurrency, "--concurrency")
        rows = as_rows(variable(self.shell, args.over, "--over"), args.over)
        template = require_text(template)
        texts = prompts(template, rows, self.shell.user_ns) if not args.no_interpolate else [template] * len(rows)
        if not texts:
            raise UsageError(f"--over {args.over}: there are no rows.")
        s = session()
        features = self._features(args)
        system = expand(args.system, self.shell, not args.no_interpolate)
        model = s.model_for("chat", args.model)

        def make_request(prompt: str) -> ChatRequest:
            return ChatRequest(
                prompt=prompt, model=model, system=system, temperature=args.temperature, max_tokens=args.max_tokens,
                stop=args.stop, seed=args.seed, reasoning_effort=args.reasoning_effort, api=args.api or "auto",
                stream=False, cache=not args.no_cache, **features)

        progress = _row_progress(args.quiet or is_terminal(self.shell))
        if args.batch:
            from openai_magics.chat.over import as_batch

            result = as_batch(s, rows, texts, make_request, template=template, wait=not args.no_wait,
                              progress=progress, parsed=bool(args.schema or args.json))
            bind(self.shell, args.output, getattr(result, "series", result))
            return None if args.quiet else result
        if args.no_wait:
            raise UsageError("--no-wait goes with --batch.")
        result = run_over(s, rows, texts, make_request, concurrency=args.concurrency or DEFAULT_CONCURRENCY,
                          progress=progress, parsed=bool(args.schema or args.json))
        bind(self.shell, args.output, result.series)
        if result.interrupted:
            if not args.quiet:
                self.shell.display_pub.publish(_bundle(result))
            raise KeyboardInterrupt
        return None if args.quiet else result

    def _run(self, args, body: str):
        from openai_magics.chat.engine import run_chat

        interpolating = not args.no_interpolate
        prompt = require_text(expand(body, self.shell, interpolating))
        s = session()
        compare = self._compared(args)
        request = self._request(args, prompt, compare[0] if compare else s.model_for("chat", args.model))
        if args.moderate and not args.dry_run:
            from openai_magics.chat.moderated import refuse_if_flagged

            refuse_if_flagged(s, prompt)
        if compare:
            return self._compare(args, request, compare)
        if args.dry_run:
            result = run_chat(s, request)
            bind(self.shell, args.output, result)
            return None if args.quiet else result
        view = self._view(args)
        if args.moderate:
            from openai_magics.chat.engine import NullView
            from openai_magics.chat.moderated import ModeratedView

            view = ModeratedView(view or NullView(), s)
        result = run_chat(s, request, view)
        result.format = args.format
        bind(self.shell, args.output, result.parsed if args.schema or args.json else result)
        if result.interrupted:
            self._keep_partial(args, result)
        if args.format == "code":
            _insert_code_once(self.shell, result.text)
        if args.quiet or is_terminal(self.shell) and not args.no_stream:
            return None
        return result

    def _request(self, args, prompt: str, model: str):
        from openai_magics.chat.request import ChatRequest

        return ChatRequest(
            prompt=prompt, model=model, system=expand(args.system, self.shell, not args.no_interpolate),
            temperature=args.temperature, max_tokens=args.max_tokens, stop=args.stop, seed=args.seed,
            reasoning_effort=args.reasoning_effort, reasoning_summary=args.summary, api=args.api or "auto",
            stream=not args.no_stream, thread=args.thread, new_thread=args.new, turn_key=turn_key(), cache=not args.no_cache,
            dry_run=args.dry_run, **self._features(args),
        )

    def _compared(self, args) -> list[str]:
        """The models of --compare (or of -m a,b,c); [] for one model. Threads have one model: refused."""
        spec = args.compare or (args.model if args.model and "," in args.model else None)
        if spec is None:
            return []
        from openai_magics.chat.compare import compared_models

        if args.compare and args.model:
            raise UsageError("--compare names the models: drop -m.")
        if args.thread:
            raise UsageError("--compare and --thread: a thread continues one model's conversation; compare "
                             "without --thread.")
        if args.format == "code":
            raise UsageError("--format code takes one answer: drop it with --compare.")
        return compared_models(spec)

    def _compare(self, args, first, models: list[str]):
        """The same request, once per model, all at once; the answers side by side."""
        from dataclasses import replace

        from openai_magics.chat.compare import run_compare
        from openai_magics.chat.engine import NullView, run_chat

        requests = [first] + [replace(first, model=m) for m in models[1:]]
        if args.dry_run:
            plans = [run_chat(session(), r) for r in requests]
            bind(self.shell, args.output, plans)
            return None if args.quiet else plans

        def one(s, request):
            if not args.moderate or args.dry_run:
                return run_chat(s, request)
            from openai_magics.chat.moderated import ModeratedView

            return run_chat(s, request, ModeratedView(NullView(), s))

        compared = run_compare(session(), requests, one)
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

    def _features(self, args) -> dict:
        """--schema, --json, --tools, --image: looked up in the notebook before anything is sent."""
        features = {"json_mode": args.json, "detail": args.detail}
        if args.max_rounds is not None:
            features["max_rounds"] = args.max_rounds
        if args.schema:
            from openai_magics.chat.structured import find_schema

            features.update(schema=find_schema(args.schema, self.shell.user_ns), schema_name=args.schema)
        if args.tools is not None:
            from openai_magics.chat.tools import find_tools

            features["tools"] = find_tools(args.tools, self.shell.user_ns)
        if args.image:
            from openai_magics.chat.vision import encode

            features["images"] = [encode(_image_source(self.shell, src), src) for src in args.image]
        return features

    def _view(self, args):
        from openai_magics.chat.stream_view import TerminalStreamView, WidgetStreamView

        if args.quiet or args.no_stream:
            return None
        return TerminalStreamView() if is_terminal(self.shell) else WidgetStreamView()


def _row_progress(hidden: bool):
    from openai_magics.views.progress import NullProgress, RowProgress

    return NullProgress() if hidden else RowProgress()


def _image_source(shell, source: str):
    """A notebook variable when one has that name, else the path or URL as written."""
    if source.isidentifier() and source in shell.user_ns:
        return variable(shell, source, "--image")
    return source


def _bundle(result) -> dict:
    from IPython.core.formatters import format_display_data

    return format_display_data(result)[0]


class InsertedCode(dict):
    """Cell id → the code `--format code` put in a new cell below it, for the kernel's life."""


def _insert_code_once(shell, text: str) -> None:
    """The answer's code in a new cell below, once per cell: a kernel can add a cell but not replace the one it
    added before, so a re-run says where its code is instead of adding another cell each time."""
    _number, cell_id = current_cell()
    inserted = session().part(InsertedCode)
    if cell_id is not None and cell_id in inserted:
        print("The code went into the cell below on this cell's first run; a kernel cannot replace that cell, "
              "so it is not inserted again (copy this answer's code from it).")
        return
    if cell_id is not None:
        inserted[cell_id] = text
    shell.set_next_input(_code_of(text), replace=False)


def _code_of(text: str) -> str:
    import re

    blocks = re.findall(r"```[\w+-]*\n(.*?)```", text, re.S)
    return "\n".join(b.rstrip() for b in blocks) if blocks else text
