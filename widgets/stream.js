// The live view of a streamed answer. The kernel sends only deltas ({t: new text}) plus counters,
// so traffic grows linearly with the answer. When the answer is complete the view steps aside:
// the cell's persistent output is the rendered result that follows it.
function render({ model, el }) {
  el.classList.add("oaim-stream");
  const text = document.createElement("div");
  text.className = "oaim-stream-text";
  const stats = document.createElement("div");
  stats.className = "oaim-stream-stats";
  stats.textContent = `${model.get("model_name")} · waiting for the first token…`;
  el.append(text, stats);

  model.on("msg:custom", (msg) => {
    if (msg.t) text.append(document.createTextNode(msg.t));
    stats.textContent = [model.get("model_name"), `${msg.n.toLocaleString()} tokens`,
      `${msg.r.toLocaleString()} tok/s`, `${msg.s.toFixed(1)} s`, msg.c].filter(Boolean).join(" · ");
  });

  const showStatus = () => {
    const status = model.get("status");
    el.dataset.status = status;
    el.hidden = status === "done";
  };
  model.on("change:status", showStatus);
  showStatus();
}

export default { render };
