// Draws the report's timeline with the widget's own view (timeline_view.js, inlined above this
// code): a model made of the saved traits stands where the kernel's widget model would.
const saved = JSON.parse(document.getElementById("kit-timeline-state").textContent);
const traits = {
  lanes: saved.lanes, series: saved.series, window: saved.window, since: saved.since,
  frozen: saved.frozen, periodic: false, snapshot: saved.chunks,
};
const handlers = {}, changed = new Set();
const emit = (name, value) => (handlers[name] || []).forEach((fn) => fn(value));
// the kernel's part: what the view's hello and its periodic button get back
function chunks() {
  return traits.periodic ? Object.assign({}, saved.chunks, saved.periodic_chunks) : saved.chunks;
}
const model = {
  get: (name) => traits[name],
  set: (name, value) => { traits[name] = value; changed.add(name); },
  on: (name, fn) => { (handlers[name] = handlers[name] || []).push(fn); },
  send: (msg) => {
    if (msg.type === "hello") setTimeout(() => emit("msg:custom", { type: "snapshot", now: traits.frozen, chunks: chunks() }));
  },
  save_changes: () => {
    if (changed.has("periodic")) {
      traits.series = traits.periodic ? saved.periodic_series : saved.series;
      emit("msg:custom", { type: "snapshot", now: traits.frozen, chunks: chunks() });
      changed.add("series");
    }
    for (const name of changed) emit(`change:${name}`);
    changed.clear();
  },
};
render({ model, el: document.getElementById("kit-timeline") });
