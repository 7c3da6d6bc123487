// The live views of streamed answers, rendered as Markdown as they stream. One model per kernel (the stream
// channel) carries this module and every answer's messages, each tagged with its answer's anchor `a`:
// `{a, m}` when it starts, `{a, t, n, s, f, r, c}` for a delta and its counters, and `status` when it ends
// (alone, or with the last delta).
// Each answer fills its empty placeholder output `.oaim-live-ANCHOR` (all a notebook saved mid-stream keeps);
// when it is complete the cell's rendered result replaces it and gets a copy button. The renderer (marked)
// comes in the channel's opening state (or on request) and the page keeps it; without it the text shows plain.

const RENDERER_KEY = "openai-magics:renderer";
const FIND_TIMEOUT_MS = 60_000;

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// Maths waits for the final output (MathJax): while streaming it shows as its source, untouched by Markdown.
const MATHS = {
  name: "oaimMaths",
  level: "inline",
  start: (src) => { const i = src.indexOf("$"); return i < 0 ? undefined : i; },
  tokenizer(src) {
    const m = /^\$\$[\s\S]+?\$\$|^\$(?![\s$])[^$\n]+?\$/.exec(src);
    return m ? { type: "oaimMaths", raw: m[0] } : undefined;
  },
  renderer: (token) => `<span class="oaim-maths">${escapeHtml(token.raw)}</span>`,
};
const SAFE_URL = /^(https?:|mailto:|#|\/|\.{0,2}\/|[^:]*$)/i;
// The answer is untrusted text: raw HTML shows as text, and only plain links are links.
const SAFE_RENDERER = {
  html: (token) => escapeHtml(token.text),
  link(token) {
    const text = this.parser.parseInline(token.tokens);
    return SAFE_URL.test(token.href) ? `<a href="${escapeHtml(token.href)}" target="_blank" rel="noopener">${text}</a>` : text;
  },
  image: (token) => escapeHtml(token.text ? `[${token.text}]` : ""),
};

async function importSource(source) {
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  try {
    return await import(/* webpackIgnore: true */ url);
  } finally {
    URL.revokeObjectURL(url);
  }
}

// One renderer per page: from the source given, else from an earlier kernel's, else from the browser's store.
function loadRenderer(source) {
  const g = globalThis;
  if (source) {
    try { localStorage.setItem(RENDERER_KEY, source); } catch { /* full or disabled: this page still has it */ }
  } else if (g.__oaimRenderer) {
    return g.__oaimRenderer;
  } else {
    try { source = localStorage.getItem(RENDERER_KEY); } catch { source = null; }
    if (!source) return Promise.resolve(null);
  }
  g.__oaimRenderer = importSource(source).then(({ Marked }) => {
    const marked = new Marked({ gfm: true, breaks: false });
    marked.use({ extensions: [MATHS], renderer: SAFE_RENDERER });
    return (text) => marked.parse(text);
  }).catch((err) => { console.warn("openai-magics: Markdown renderer unavailable", err); return null; });
  return g.__oaimRenderer;
}

function formatStats(name, m, waited) {
  if (!m) return `${name} · waiting for the first token… ${waited.toFixed(1)} s`;
  return [name, `${m.f.toFixed(1)} s to first token`, `${m.n.toLocaleString()} tokens`,
    m.r ? `${m.r.toLocaleString()} tok/s` : "", `${m.s.toFixed(1)} s`, m.c].filter(Boolean).join(" · ");
}

// Waits for the placeholder this model fills: it may reach the page before or after the model.
function whenPlaceholder(anchor, signal) {
  const selector = `.oaim-live-${anchor}`;
  return new Promise((resolve) => {
    const found = document.querySelector(selector);
    if (found) return resolve(found);
    const observer = new MutationObserver(() => {
      const el = document.querySelector(selector);
      if (el) { observer.disconnect(); resolve(el); }
    });
    observer.observe(document.body, { childList: true, subtree: true });
    const stop = () => { observer.disconnect(); resolve(null); };
    setTimeout(stop, FIND_TIMEOUT_MS);
    signal.addEventListener("abort", stop);
  });
}

function copyButton(text) {
  const button = document.createElement("button");
  button.className = "oaim-copy";
  button.type = "button";
  button.textContent = "Copy";
  button.title = "Copy the answer (Markdown) to the clipboard";
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Copy failed";
    }
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  });
  return button;
}

// After the answer: the cell's next rendered Markdown output is the answer; it gets the copy button.
function offerCopy(host, text) {
  const area = host.closest(".jp-OutputArea");
  if (!area || !text) return;
  const before = new Set(area.children);
  const attach = () => {
    const output = [...area.children].filter((c) => !before.has(c))
      .map((c) => c.querySelector(".jp-RenderedMarkdown")).find(Boolean);
    if (!output || output.querySelector(".oaim-copy")) return false;
    output.classList.add("oaim-copyable");
    output.append(copyButton(text));  // last: the first child keeps its top margin rule
    return true;
  };
  // The notebook fills a Markdown output after creating it (and may again): the button is put back until then.
  let settled = 0;
  const observer = new MutationObserver(() => {
    if (attach() && !settled) settled = setTimeout(() => observer.disconnect(), 5_000);
  });
  observer.observe(area, { childList: true, subtree: true });
  setTimeout(() => observer.disconnect(), FIND_TIMEOUT_MS);
}

// One answer's live view: waits for its placeholder, then paints its text and counters once per frame.
function liveAnswer(anchor, name, renderer, signal) {
  const started = performance.now();
  let text = "", last = null, status = "streaming", frame = 0, view = null;
  const answer = { render: null };

  function paint() {
    frame = 0;
    if (!view) return;
    if (answer.render) {
      view.text.innerHTML = answer.render(text);
      view.text.classList.remove("oaim-plain");
    } else {
      view.text.textContent = text;
      view.text.classList.add("oaim-plain");
    }
    view.stats.textContent = formatStats(name, last, (performance.now() - started) / 1000);
  }
  function schedule() { if (!frame) frame = requestAnimationFrame(paint); }
  const waiting = setInterval(() => { if (last) clearInterval(waiting); else schedule(); }, 100);
  signal.addEventListener("abort", () => clearInterval(waiting));

  function showStatus() {
    if (!view) return;
    view.root.dataset.status = status;
    if (status !== "streaming") {
      clearInterval(waiting);
      offerCopy(view.root, text);
    }
  }
  answer.useRenderer = (ready) => ready.then((render) => { answer.render = render; schedule(); });
  answer.delta = (msg) => {
    if (msg.t) text += msg.t;
    last = msg;
    schedule();
  };
  answer.end = (ended) => {
    status = ended;
    clearInterval(waiting);
    showStatus();
  };

  whenPlaceholder(anchor, signal).then((host) => {
    if (!host || signal.aborted) return clearInterval(waiting);
    const root = document.createElement("div");
    root.className = "oaim-stream";
    const body = document.createElement("div");
    body.className = "oaim-stream-text jp-RenderedHTMLCommon jp-RenderedMarkdown";
    const stats = document.createElement("div");
    stats.className = "oaim-stream-stats";
    root.append(body, stats);
    host.replaceChildren(root);
    view = { root, text: body, stats };
    showStatus();
    paint();
  });
  answer.useRenderer(renderer);
  return answer;
}

function initialize({ model }) {
  const controller = new AbortController();
  const answers = new Map();
  // The opening state's renderer, read before any later message (an emptied trait) is applied.
  let renderer = loadRenderer(model.get("renderer"));
  renderer.then((render) => { if (!render) model.send({ want: "renderer" }); });

  model.on("msg:custom", (msg) => {
    if (msg.renderer) {
      renderer = loadRenderer(msg.renderer);
      answers.forEach((answer) => answer.useRenderer(renderer));
      return;
    }
    let answer = answers.get(msg.a);
    if (!answer) {
      answer = liveAnswer(msg.a, msg.m || "", renderer, controller.signal);
      answers.set(msg.a, answer);
    }
    if ("t" in msg) answer.delta(msg);
    if (msg.status) {
      answer.end(msg.status);
      answers.delete(msg.a);
    }
  });
  return () => controller.abort();
}

export default { initialize };
