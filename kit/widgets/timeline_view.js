// The kit's timeline view: a lane per worker on a canvas, drawn from chunks of items the kernel sends.
// State: model traits `lanes`, `series`, `window`, `snapshot`; custom messages {type: "snapshot" | "update"}.
// Drag across the lanes to zoom into a time range; double-click to follow "now" again; click a legend entry to hide it.
// Many workers: lanes collapse (COMPACT px) and scroll; the filter box keeps the lanes whose name holds its text.
const FULL = 100, COMPACT = 34, MANY = 10, GUTTER = 92, AXIS = 22, PAD = 10, MIN_SPAN = 5;
const STEPS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600];

function el(tag, cls, parent) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (parent) parent.appendChild(node);
  return node;
}

function timeText(t, step) {
  const d = new Date(t * 1000), p = (n, w = 2) => String(n).padStart(w, "0");
  const hms = `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  return step < 1 ? `${hms}.${p(d.getMilliseconds(), 3)}` : hms;
}

function symbol(g, name, x, y, colour) {
  const r = 5, open = name.endsWith("-open");
  g.beginPath();
  if (name.startsWith("triangle-up")) { g.moveTo(x, y - r); g.lineTo(x + r, y + r); g.lineTo(x - r, y + r); g.closePath(); }
  else if (name.startsWith("triangle-down")) { g.moveTo(x, y + r); g.lineTo(x + r, y - r); g.lineTo(x - r, y - r); g.closePath(); }
  else if (name.startsWith("triangle-right")) { g.moveTo(x + r, y); g.lineTo(x - r, y - r); g.lineTo(x - r, y + r); g.closePath(); }
  else if (name.startsWith("diamond")) { g.moveTo(x, y - r); g.lineTo(x + r, y); g.lineTo(x, y + r); g.lineTo(x - r, y); g.closePath(); }
  else if (name.startsWith("square")) { g.rect(x - r + 1, y - r + 1, 2 * r - 2, 2 * r - 2); }
  else if (name.startsWith("star")) {
    for (let i = 0; i < 10; i++) {
      const a = Math.PI / 2 + i * Math.PI / 5, rr = i % 2 ? r * 0.45 : r + 1;
      g.lineTo(x + rr * Math.cos(a), y - rr * Math.sin(a));
    }
    g.closePath();
  } else if (name.startsWith("x")) {
    g.moveTo(x - r, y - r); g.lineTo(x + r, y + r); g.moveTo(x + r, y - r); g.lineTo(x - r, y + r);
    g.strokeStyle = colour; g.lineWidth = 2; g.stroke(); return;
  } else { g.arc(x, y, r - 1, 0, 2 * Math.PI); }
  if (open) { g.strokeStyle = colour; g.lineWidth = 1.5; g.stroke(); } else { g.fillStyle = colour; g.fill(); }
}

function render({ model, el: host }) {
  const root = el("div", "kit-tl", host), bar = el("div", "kit-tl-bar", root), head = el("span", "kit-tl-head", bar);
  const filter = el("input", "kit-tl-filter", bar), periodic = el("button", "kit-tl-btn kit-tl-periodic", bar);
  const bootBtn = el("button", "kit-tl-btn kit-tl-boot", bar), liveBtn = el("button", "kit-tl-btn kit-tl-live", bar);
  const scroller = el("div", "kit-tl-scroll", root), canvas = el("canvas", "kit-tl-canvas", scroller);
  const axis = el("canvas", "kit-tl-axis", root), legend = el("div", "kit-tl-legend", root);
  const tip = el("div", "kit-tl-tip", root);
  filter.placeholder = "filter workers"; filter.type = "search";
  bootBtn.textContent = "zoom to boot"; bootBtn.title = "zoom into the last boot of the workers (the step waterfall)";
  liveBtn.textContent = "follow live"; liveBtn.title = "show the latest window again (or double-click the lanes)";
  const st = { chunks: Object.assign({}, model.get("snapshot") || {}), offset: 0, hidden: new Set(), zoom: null, drag: null, hits: [] };
  const now = () => model.get("frozen") || Date.now() / 1000 + st.offset;
  const span = () => {
    if (st.zoom) return st.zoom;
    const t1 = now(), since = model.get("since") || 0;
    return [Math.min(t1 - MIN_SPAN, Math.max(t1 - model.get("window"), since - 0.5)), t1];
  };
  const shownLanes = () => {
    const text = filter.value.trim().toLowerCase(), lanes = model.get("lanes") || [];
    return text ? lanes.filter((name) => name.toLowerCase().includes(text)) : lanes;
  };
  const laneHeight = (n) => (n > MANY ? COMPACT : FULL);
  function tickRows(series) {  // the visible tick series share the fires band of a lane
    const ids = Object.keys(series).filter((id) => series[id].kind === "tick" && !st.hidden.has(id));
    const rows = {}, base = 0.13, band = 0.32;
    ids.forEach((id, i) => { rows[id] = [base + band * (i + 0.5) / ids.length, Math.min(0.05, band / ids.length * 0.42)]; });
    return rows;
  }

  model.on("msg:custom", (msg) => {
    if (msg.type === "snapshot") st.chunks = msg.chunks || {};
    if (msg.type === "update") {
      Object.assign(st.chunks, msg.set || {});
      for (const id of msg.drop || []) delete st.chunks[id];
    }
    if (typeof msg.now === "number") st.offset = msg.now - Date.now() / 1000;
    draw();
  });

  function plotWidth() { return Math.max(300, (root.clientWidth || 900) - GUTTER - PAD); }

  function fit(c, w, h) {
    const dpr = window.devicePixelRatio || 1;
    if (c.width !== w * dpr || c.height !== h * dpr) {
      c.width = w * dpr; c.height = h * dpr; c.style.width = `${w}px`; c.style.height = `${h}px`;
    }
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0); g.clearRect(0, 0, w, h);
    return g;
  }

  function draw() {
    const lanes = shownLanes(), series = model.get("series") || {}, LANE = laneHeight(lanes.length);
    const w = GUTTER + plotWidth() + PAD, h = Math.max(1, lanes.length) * LANE;
    const g = fit(canvas, w, h), [t0, t1] = span(), X = (t) => GUTTER + (t - t0) / (t1 - t0) * plotWidth();
    g.font = "12px sans-serif"; g.textBaseline = "middle";
    const laneOf = {}, rows = tickRows(series);
    lanes.forEach((name, i) => {
      laneOf[name] = i;
      g.fillStyle = i % 2 ? "#f3f6fa" : "#fbfcfd"; g.fillRect(GUTTER, i * LANE, plotWidth(), LANE);
      g.fillStyle = "#333"; g.fillText(name.length > 13 ? name.slice(0, 12) + "…" : name, 4, i * LANE + LANE / 2);
    });
    drawGrid(g, t0, t1, X, lanes.length * LANE);
    drawAxis(fit(axis, w, AXIS), t0, t1, X);
    st.hits = [];
    const tnow = now();
    g.save(); g.beginPath(); g.rect(GUTTER, 0, plotWidth(), lanes.length * LANE); g.clip();
    for (const id in st.chunks) {
      const c = st.chunks[id], s = series[c.s];
      if (!s || st.hidden.has(c.s) || c.t0 > t1) continue;
      for (let k = 0; k < c.t.length; k++) {
        const t = c.t0 + c.t[k], lane = laneOf[c.hosts[c.h[k]]];
        if (lane === undefined) continue;
        if (s.kind === "bar") {
          const end = c.len[k] === null ? tnow : t + c.len[k];
          if (end < t0 || t > t1) continue;
          const x = X(t), bw = Math.max(1.5, X(end) - x), y = (lane + c.y[k]) * LANE, bh = s.height * LANE;
          g.fillStyle = c.c[k]; g.fillRect(x, y - bh / 2, bw, bh);
          st.hits.push([x, y - bh / 2, bw, bh, c, k, t]);
        } else if (t >= t0 && t <= t1) {
          const x = X(t), y = (lane + s.row) * LANE;
          if (s.kind === "tick") {
            const [row, half] = rows[c.s] || [s.row, s.half], yy = (lane + row) * LANE, hh = Math.max(1.5, half * LANE);
            g.strokeStyle = s.colour; g.lineWidth = 1.5; g.beginPath(); g.moveTo(x, yy - hh); g.lineTo(x, yy + hh); g.stroke();
            st.hits.push([x - 3, yy - hh - 1, 6, 2 * hh + 2, c, k, t]);
          } else {
            symbol(g, s.symbol, x, y, s.colour);
            st.hits.push([x - 6, y - 6, 12, 12, c, k, t]);
          }
        }
      }
    }
    if (st.drag && st.drag.x1 !== undefined) {
      g.fillStyle = "rgba(30, 136, 229, 0.15)";
      g.fillRect(Math.min(st.drag.x0, st.drag.x1), 0, Math.abs(st.drag.x1 - st.drag.x0), lanes.length * LANE);
    }
    g.restore();
    const count = Object.values(st.chunks).reduce((n, c) => n + c.t.length, 0);
    const all = (model.get("lanes") || []).length, frozen = model.get("frozen");
    root.dataset.items = count; root.dataset.lanes = lanes.length;  // for browser tests
    root.dataset.frozen = frozen ? "1" : "";
    const which = lanes.length < all ? `${lanes.length} of ${all} workers` : `${all} worker${all === 1 ? "" : "s"}`;
    head.textContent = (frozen ? `frozen at ${timeText(frozen, 1)} (cluster closed) · ` : "")
      + (st.zoom ? `zoomed: ${timeText(t0, 0.1)} – ${timeText(t1, 0.1)}`
        : `last ${Math.round(t1 - t0)} s`) + ` · ${which} · ${count} items · drag to zoom`;
    periodic.textContent = model.get("periodic") ? "hide Celery's periodic timers" : "show Celery's periodic timers";
    periodic.title = "heartbeat (Heart._send), gossip checks (Gossip.periodic), broker housekeeping: many ticks a second";
    liveBtn.disabled = !st.zoom;
  }

  function steps(t0, t1) { return STEPS.find((s) => (s / (t1 - t0)) * plotWidth() >= 90) || 600; }

  function drawGrid(g, t0, t1, X, y) {
    const step = steps(t0, t1);
    g.strokeStyle = "#ddd";
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      const x = X(t); g.beginPath(); g.moveTo(x, 0); g.lineTo(x, y); g.stroke();
    }
  }

  function drawAxis(g, t0, t1, X) {  // tick labels stay inside the plot: the edge ones are aligned inwards
    const step = steps(t0, t1), left = GUTTER, right = GUTTER + plotWidth();
    g.strokeStyle = "#ccc"; g.fillStyle = "#555"; g.font = "11px sans-serif"; g.textBaseline = "middle";
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      const x = X(t), text = timeText(t, step), half = g.measureText(text).width / 2;
      g.beginPath(); g.moveTo(x, 0); g.lineTo(x, 4); g.stroke();
      g.textAlign = x + half > right ? "right" : x - half < left ? "left" : "center";
      g.fillText(text, g.textAlign === "right" ? right : g.textAlign === "left" ? left : x, AXIS / 2 + 2);
    }
    g.textAlign = "left";
  }

  function zoomToBoot() {  // the last wave of boot calls, with a little room on each side
    const calls = [];
    for (const id in st.chunks) {
      const c = st.chunks[id];
      if (c.s === "boot") for (let k = 0; k < c.t.length; k++) calls.push([c.t0 + c.t[k], c.t0 + c.t[k] + (c.len[k] || 0)]);
    }
    if (!calls.length) return;
    const last = Math.max(...calls.map((b) => b[0]));
    const wave = calls.filter((b) => b[0] >= last - 5);
    const a = Math.min(...wave.map((b) => b[0])), b = Math.max(...wave.map((b) => b[1])), pad = Math.max(0.01, (b - a) * 0.05);
    st.zoom = [a - pad, b + pad]; draw();
  }

  function tipText(c, k, t) {
    const s = (model.get("series") || {})[c.s] || {}, who = c.hosts[c.h[k]];
    if (c.tip) return c.tip[k];
    return `${timeText(t, 0.1)} ${who}\n${s.tip || s.name}\ntook ${c.d[k]} ms`;
  }

  function drawLegend() {
    const series = model.get("series") || {}, present = new Set(Object.values(st.chunks).map((c) => c.s));
    const groups = {};
    for (const id in series) if (present.has(id)) (groups[series[id].group] = groups[series[id].group] || []).push(id);
    legend.replaceChildren();
    for (const name in groups) {
      const box = el("span", "kit-tl-group", legend);
      el("b", "", box).textContent = name;
      for (const id of groups[name]) {
        const item = el("span", "kit-tl-item" + (st.hidden.has(id) ? " kit-tl-off" : ""), box);
        const sw = el("i", "kit-tl-swatch", item);
        sw.style.background = series[id].colour;
        el("span", "", item).textContent = series[id].name;
        item.onclick = () => { st.hidden.has(id) ? st.hidden.delete(id) : st.hidden.add(id); drawLegend(); draw(); };
      }
    }
  }

  const at = (e) => { const r = canvas.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
  const timeAt = (x) => { const [t0, t1] = span(); return t0 + (x - GUTTER) / plotWidth() * (t1 - t0); };
  filter.oninput = () => draw();
  periodic.onclick = () => { model.set("periodic", !model.get("periodic")); model.save_changes(); };
  bootBtn.onclick = zoomToBoot;
  liveBtn.onclick = () => { st.zoom = null; draw(); };
  canvas.onmousedown = (e) => { st.drag = { x0: at(e)[0] }; };
  canvas.onmouseup = (e) => {
    if (st.drag && st.drag.x1 !== undefined && Math.abs(st.drag.x1 - st.drag.x0) > 4) {
      const a = timeAt(Math.min(st.drag.x0, st.drag.x1)), b = timeAt(Math.max(st.drag.x0, st.drag.x1));
      st.zoom = [a, b];
    }
    st.drag = null; draw();
  };
  canvas.ondblclick = () => { st.zoom = null; draw(); };
  canvas.onmouseleave = () => { tip.style.display = "none"; };
  canvas.onmousemove = (e) => {
    const [x, y] = at(e);
    if (st.drag) { st.drag.x1 = x; draw(); return; }
    const hit = st.hits.findLast((b) => x >= b[0] - 1 && x <= b[0] + b[2] + 1 && y >= b[1] && y <= b[1] + b[3]);
    if (!hit) { tip.style.display = "none"; return; }
    tip.textContent = tipText(hit[4], hit[5], hit[6]);  // text, never HTML: names come from workers
    const top = y - scroller.scrollTop + scroller.offsetTop + 14;
    tip.style.display = "block"; tip.style.left = `${Math.min(x + 14, root.clientWidth - 330)}px`; tip.style.top = `${top}px`;
  };

  model.on("change:lanes", draw);
  model.on("change:frozen", draw);
  model.on("change:periodic", draw);
  model.on("change:series", () => { drawLegend(); draw(); });
  const timer = setInterval(() => { if (!st.zoom && !model.get("frozen")) draw(); }, 250);
  const legendTimer = setInterval(drawLegend, 2000);
  const resize = new ResizeObserver(() => draw());
  resize.observe(root);
  model.send({ type: "hello" });
  drawLegend(); draw();
  return () => { clearInterval(timer); clearInterval(legendTimer); resize.disconnect(); };
}

export default { render };
