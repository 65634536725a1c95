// Small hand-drawn charts on <canvas> (no library, no build step) and an SVG gauge.

const COLORS = {
  axis: "#5b6470",
  grid: "#e3e7ec",
  line: "#0b6bcb",
  accent: "#c2410c",
  bar: "#2f855a",
  barMuted: "#a0aec0",
  text: "#1f2933",
};

function prepare(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || canvas.width;
  const h = canvas.clientHeight || canvas.height;
  if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
    canvas.width = Math.round(w * ratio);
    canvas.height = Math.round(h * ratio);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.font = "12px system-ui, sans-serif";
  return { ctx, w, h };
}

/** Ticks for a time axis in seconds, on whole steps that read well as m:ss (never repeated). */
export function timeTicks(lo, hi, n = 4) {
  const span = Math.max(hi - lo, 1);
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
  const step = steps.find((s) => span / s <= n) || steps[steps.length - 1];
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) ticks.push(v);
  return ticks;
}

/** Seconds as m:ss (or h:mm:ss from an hour on). */
export function clockLabel(seconds) {
  const s = Math.round(seconds);
  const sign = s < 0 ? "-" : "";
  const a = Math.abs(s);
  const h = Math.floor(a / 3600);
  const m = Math.floor((a % 3600) / 60);
  const ss = String(a % 60).padStart(2, "0");
  return h ? `${sign}${h}:${String(m).padStart(2, "0")}:${ss}` : `${sign}${m}:${ss}`;
}

function niceTicks(lo, hi, n = 4) {
  const span = hi - lo || 1;
  const raw = span / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) ticks.push(v);
  return ticks;
}

/**
 * Draw `text` at (x, y) with the context's current alignment (rotated a quarter turn
 * counter-clockwise about (x, y) when `rotated`) and record the box its ink covers, in CSS
 * pixels, in `boxes`: the layout below keeps these boxes apart, and the canvas publishes them
 * (`data-label-boxes`) so a test can check that no label overlaps another.
 */
function label(ctx, boxes, kind, text, x, y, rotated = false) {
  if (!text) return;
  const m = ctx.measureText(text);
  // ink extent around the anchor, along the text (left, right) and across it (up, down)
  const left = m.actualBoundingBoxLeft;
  const right = m.actualBoundingBoxRight;
  const up = m.actualBoundingBoxAscent;
  const down = m.actualBoundingBoxDescent;
  if (rotated) {
    ctx.save();
    ctx.translate(x, y);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText(text, 0, 0);
    ctx.restore();
    // after the turn, "along" runs upwards and "up" runs to the left
    boxes.push({ kind, text, x0: x - up, x1: x + down, y0: y - right, y1: y + left });
  } else {
    ctx.fillText(text, x, y);
    boxes.push({ kind, text, x0: x - left, x1: x + right, y0: y - up, y1: y + down });
  }
}

/** Height of a line of the context's font (ascent + descent of its em box), CSS pixels. */
function lineHeight(ctx) {
  const m = ctx.measureText("0");
  const h = (m.fontBoundingBoxAscent ?? 0) + (m.fontBoundingBoxDescent ?? 0);
  return Math.ceil(h || 14);
}

const GAP = 4; // px between a label and its neighbour (a tick label, the plot, the edge)

/**
 * Axes, grid and labels of a chart; returns the plot's scales and box. The margins are made
 * from the labels' measured sizes, so the labels never overlap: the y label has a column of its
 * own left of the y tick labels (sized to the widest), and the x label a row of its own below
 * the x tick labels.
 */
function frame(ctx, w, h, { xLo, xHi, yLo, yHi, xLabel, yLabel, xFormat = (v) => `${v}`, xTicks }) {
  const boxes = [];
  const line = lineHeight(ctx);
  const yTicks = niceTicks(yLo, yHi);
  const yText = yTicks.map((v) => `${Math.round(v * 100) / 100}`);
  const yTickW = Math.max(0, ...yText.map((t) => ctx.measureText(t).width));
  const xEndW = Math.max(...[xLo, xHi].map((v) => ctx.measureText(xFormat(v)).width));
  const pad = {
    l: Math.ceil((yLabel ? GAP + line : 0) + GAP + yTickW + 6),
    r: Math.ceil(Math.max(10, xEndW / 2 + GAP)),
    t: Math.ceil(Math.max(10, line / 2 + 2)),
    b: Math.ceil(6 + line + (xLabel ? GAP + line : 0) + 2),
  };
  const pw = w - pad.l - pad.r;
  const ph = h - pad.t - pad.b;
  const x = (v) => pad.l + ((v - xLo) / (xHi - xLo || 1)) * pw;
  const y = (v) => pad.t + ph - ((v - yLo) / (yHi - yLo || 1)) * ph;
  ctx.strokeStyle = COLORS.grid;
  ctx.fillStyle = COLORS.axis;
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  yTicks.forEach((v, i) => {
    ctx.beginPath();
    ctx.moveTo(pad.l, y(v));
    ctx.lineTo(w - pad.r, y(v));
    ctx.stroke();
    label(ctx, boxes, "y-tick", yText[i], pad.l - 6, y(v));
  });
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const nx = Math.max(2, Math.floor(pw / 80));
  const ticks = typeof xTicks === "function" ? xTicks(xLo, xHi, nx) : xTicks || niceTicks(xLo, xHi, nx);
  const labels = ticks.map(xFormat);
  ticks.forEach((v, i) => label(ctx, boxes, "x-tick", labels[i], x(v), pad.t + ph + 6));
  ctx.canvas.dataset.xTicks = labels.join("|"); // what the axis says, for tests and tools
  if (yLabel) {
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    label(ctx, boxes, "y-label", yLabel, GAP + line / 2, pad.t + ph / 2, true);
  }
  if (xLabel) {
    ctx.textAlign = "right";
    ctx.textBaseline = "bottom";
    label(ctx, boxes, "x-label", xLabel, w - pad.r, h - 2);
  }
  return { x, y, pad, pw, ph, boxes };
}

/**
 * Publish where the chart put its labels and its plot, for tests and tools: `data-label-boxes`
 * (JSON list of {kind, text, x0, y0, x1, y1}, CSS pixels) and `data-plot-box` ({x0, y0, x1, y1}).
 */
function publishBoxes(canvas, f) {
  const r = (v) => Math.round(v * 10) / 10;
  canvas.dataset.labelBoxes = JSON.stringify(
    f.boxes.map((b) => ({ ...b, x0: r(b.x0), x1: r(b.x1), y0: r(b.y0), y1: r(b.y1) })),
  );
  const { pad, pw, ph } = f;
  canvas.dataset.plotBox = JSON.stringify({ x0: pad.l, y0: pad.t, x1: pad.l + pw, y1: pad.t + ph });
}

/**
 * A chart's message in place of data, wrapped at word boundaries to the canvas's width (a
 * phone's chart is narrower than one line of it); where its lines went is published in
 * `data-empty-box` ({x0, y0, x1, y1}, CSS pixels) for tests.
 */
function emptyMessage(canvas, ctx, w, h, text) {
  const room = Math.max(40, w - 16);
  const lines = [];
  for (const word of text.split(/\s+/)) {
    const last = lines.length ? `${lines[lines.length - 1]} ${word}` : word;
    if (lines.length && ctx.measureText(last).width <= room) lines[lines.length - 1] = last;
    else lines.push(word);
  }
  const lineH = 15;
  const top = h / 2 - ((lines.length - 1) * lineH) / 2;
  ctx.fillStyle = COLORS.axis;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  lines.forEach((line, i) => ctx.fillText(line, w / 2, top + i * lineH));
  const widest = Math.max(...lines.map((line) => ctx.measureText(line).width));
  const r = (v) => Math.round(v * 10) / 10;
  canvas.dataset.emptyBox = JSON.stringify({
    x0: r(w / 2 - widest / 2),
    x1: r(w / 2 + widest / 2),
    y0: r(top - lineH / 2),
    y1: r(top + (lines.length - 0.5) * lineH),
  });
}

/**
 * A line chart. `points`: [{x, y, breakBefore}]; a point with breakBefore starts a new line
 * (a gap in the beats is not drawn across).
 */
export function lineChart(canvas, points, opts = {}) {
  const { ctx, w, h } = prepare(canvas);
  canvas.dataset.nPoints = String(points.length);
  canvas.dataset.labelBoxes = "[]";
  canvas.dataset.emptyBox = "";
  canvas.dataset.plotBox = "";
  if (points.length < 2) {
    emptyMessage(canvas, ctx, w, h, opts.empty || "waiting for data");
    return;
  }
  let xLo = opts.xLo ?? Math.min(...points.map((p) => p.x));
  let xHi = opts.xHi ?? Math.max(...points.map((p) => p.x));
  const ys = points.map((p) => p.y);
  let yLo = Math.min(...ys);
  let yHi = Math.max(...ys);
  const margin = (yHi - yLo) * 0.1 || Math.abs(yHi) * 0.1 || 1;
  yLo -= margin;
  yHi += margin;
  if (opts.yMin !== undefined) yLo = Math.max(yLo, opts.yMin);
  if (xHi === xLo) xHi = xLo + 1;
  const f = frame(ctx, w, h, { xLo, xHi, yLo, yHi, ...opts });
  publishBoxes(canvas, f);
  ctx.strokeStyle = opts.color || COLORS.line;
  ctx.lineWidth = 1.6;
  ctx.beginPath();
  let started = false;
  for (const p of points) {
    if (!started || p.breakBefore) ctx.moveTo(f.x(p.x), f.y(p.y));
    else ctx.lineTo(f.x(p.x), f.y(p.y));
    started = true;
  }
  ctx.stroke();
  // Flagged points (beats without skin contact) as red marks.
  ctx.fillStyle = COLORS.accent;
  for (const p of points) {
    if (p.flag) ctx.fillRect(f.x(p.x) - 2, f.y(p.y) - 2, 4, 4);
  }
  if (opts.dots) {
    ctx.fillStyle = opts.color || COLORS.line;
    for (const p of points) {
      ctx.beginPath();
      ctx.arc(f.x(p.x), f.y(p.y), 3, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
}

/** A bar chart: `bars` = [{label, value (null = not usable), highlight}]. */
export function barChart(canvas, bars, opts = {}) {
  const { ctx, w, h } = prepare(canvas);
  canvas.dataset.labelBoxes = "[]";
  canvas.dataset.emptyBox = "";
  canvas.dataset.plotBox = "";
  if (!bars.length) {
    emptyMessage(canvas, ctx, w, h, opts.empty || "no results yet");
    return;
  }
  const values = bars.map((b) => b.value ?? 0);
  const yHi = Math.max(...values, opts.yMinHi ?? 1) * 1.15;
  const yLo = Math.min(0, ...values) * 1.15; // negative bars (a change) hang below zero
  const f = frame(ctx, w, h, { xLo: 0, xHi: bars.length, yLo, yHi, yLabel: opts.yLabel, xFormat: () => "" });
  const slot = f.pw / bars.length;
  bars.forEach((b, i) => {
    const x0 = f.pad.l + i * slot + slot * 0.2;
    const bw = slot * 0.6;
    ctx.fillStyle = b.value === null ? COLORS.barMuted : b.highlight ? COLORS.accent : COLORS.bar;
    const v = b.value ?? 0;
    ctx.fillRect(x0, Math.min(f.y(v), f.y(0)), bw, Math.abs(f.y(0) - f.y(v)));
    ctx.fillStyle = COLORS.text;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    label(ctx, f.boxes, "x-tick", b.label, x0 + bw / 2, f.pad.t + f.ph + 6);
    ctx.textBaseline = "bottom";
    label(ctx, f.boxes, "value", b.value === null ? "n/a" : b.value.toFixed(1), x0 + bw / 2, f.y(v) - 2);
  });
  publishBoxes(canvas, f);
}

/**
 * Set an SVG semicircle gauge (see index.html) to `value` in [lo, hi]. `zones` =
 * [{upTo, name}] in increasing order names the zone the value falls in (`data-zone` on the svg,
 * which colours the value arc); null or undefined is the neutral empty state: no arc, no
 * needle, `data-zone="none"`.
 */
export function setGauge(svg, value, { lo = 0, hi = 1, zones = [] } = {}) {
  const arc = svg.querySelector(".gauge-value");
  const needle = svg.querySelector(".gauge-needle");
  const empty = value === null || value === undefined || Number.isNaN(value);
  const frac = empty ? 0 : Math.max(0, Math.min(1, (value - lo) / (hi - lo)));
  // drawn only when it changes (metrics come every few beats), and the arc's path, which never
  // changes, measured once: a measure forces a layout
  const drawn = `${frac}|${empty}`;
  if (gaugeDrawn.get(svg) !== drawn) {
    gaugeDrawn.set(svg, drawn);
    // it eases to a new value (0.6 s, style.css) when values come seconds apart (every 5 s at
    // real time) and jumps when they come faster (a fast replay: 4 a second at 20x), or it
    // would ease without end, the page redrawn 60 times a second
    const now = performance.now();
    const last = gaugeDrawnAt.get(svg);
    svg.classList.toggle("gauge-jump", last !== undefined && now - last < GAUGE_EASE_MIN_MS);
    gaugeDrawnAt.set(svg, now);
    if (!arcLengths.has(arc)) arcLengths.set(arc, arc.getTotalLength());
    const length = arcLengths.get(arc);
    arc.style.strokeDasharray = `${length}`;
    arc.style.strokeDashoffset = `${length * (1 - frac)}`;
    needle.setAttribute("transform", `rotate(${-90 + 180 * frac} 60 60)`);
    needle.style.visibility = empty ? "hidden" : "visible";
  }
  const zone = empty ? null : zones.find((z) => value < z.upTo) || zones[zones.length - 1];
  if (svg.dataset.zone !== (zone ? zone.name : "none")) svg.dataset.zone = zone ? zone.name : "none";
  return zone ? zone.name : null;
}

const arcLengths = new WeakMap(); // gauge arc -> its length (setGauge)
const gaugeDrawn = new WeakMap(); // gauge -> the value it shows (setGauge)
const gaugeDrawnAt = new WeakMap(); // gauge -> when that value was set (performance.now(), ms)
const GAUGE_EASE_MIN_MS = 1500; // values closer than this jump
