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

function frame(ctx, w, h, { xLo, xHi, yLo, yHi, xLabel, yLabel, xFormat = (v) => `${v}`, xTicks }) {
  const pad = { l: 48, r: 10, t: 10, b: 30 };
  const pw = w - pad.l - pad.r;
  const ph = h - pad.t - pad.b;
  const x = (v) => pad.l + ((v - xLo) / (xHi - xLo || 1)) * pw;
  const y = (v) => pad.t + ph - ((v - yLo) / (yHi - yLo || 1)) * ph;
  ctx.strokeStyle = COLORS.grid;
  ctx.fillStyle = COLORS.axis;
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const v of niceTicks(yLo, yHi)) {
    ctx.beginPath();
    ctx.moveTo(pad.l, y(v));
    ctx.lineTo(w - pad.r, y(v));
    ctx.stroke();
    ctx.fillText(`${Math.round(v * 100) / 100}`, pad.l - 6, y(v));
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const nx = Math.max(2, Math.floor(pw / 80));
  const ticks = typeof xTicks === "function" ? xTicks(xLo, xHi, nx) : xTicks || niceTicks(xLo, xHi, nx);
  const labels = ticks.map(xFormat);
  ticks.forEach((v, i) => ctx.fillText(labels[i], x(v), h - pad.b + 6));
  ctx.canvas.dataset.xTicks = labels.join("|"); // what the axis says, for tests and tools
  if (yLabel) {
    ctx.save();
    ctx.translate(12, pad.t + ph / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = "middle";
    ctx.fillText(yLabel, 0, 0);
    ctx.restore();
  }
  if (xLabel) {
    ctx.textAlign = "right";
    ctx.textBaseline = "bottom";
    ctx.fillText(xLabel, w - pad.r, h - 1);
  }
  return { x, y, pad, pw, ph };
}

function emptyMessage(ctx, w, h, text) {
  ctx.fillStyle = COLORS.axis;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(text, w / 2, h / 2);
}

/**
 * A line chart. `points`: [{x, y, breakBefore}]; a point with breakBefore starts a new line
 * (a gap in the beats is not drawn across).
 */
export function lineChart(canvas, points, opts = {}) {
  const { ctx, w, h } = prepare(canvas);
  canvas.dataset.nPoints = String(points.length);
  if (points.length < 2) {
    emptyMessage(ctx, w, h, opts.empty || "waiting for data");
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
  if (!bars.length) {
    emptyMessage(ctx, w, h, opts.empty || "no results yet");
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
    ctx.fillText(b.label, x0 + bw / 2, h - f.pad.b + 6);
    ctx.textBaseline = "bottom";
    ctx.fillText(b.value === null ? "n/a" : b.value.toFixed(1), x0 + bw / 2, f.y(v) - 2);
  });
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
  const length = arc.getTotalLength();
  arc.style.strokeDasharray = `${length}`;
  arc.style.strokeDashoffset = `${length * (1 - frac)}`;
  needle.setAttribute("transform", `rotate(${-90 + 180 * frac} 60 60)`);
  needle.style.visibility = empty ? "hidden" : "visible";
  const zone = empty ? null : zones.find((z) => value < z.upTo) || zones[zones.length - 1];
  svg.dataset.zone = zone ? zone.name : "none";
  return zone ? zone.name : null;
}
