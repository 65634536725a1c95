// hrvpace companion page: connect a source, watch live HRV, breathe with the pacer, take
// micro-breaks, check in, look back. Plain ES modules, no build step.
//
// Data flow: REST (js/api.js) to start/stop sessions and send commands; the session's live
// WebSocket (messages typed `beat`, `metrics`, `signal`, `guidance`, `micro_break`, `prompt`,
// `status`; schema at GET /api/v1/schema/live) for everything that changes.

import * as api from "./js/api.js";
import { barChart, clockLabel, lineChart, setGauge, timeTicks } from "./js/charts.js";
import { breathAt, fractions, phaseAt, SessionClock, STAGE_LABELS } from "./js/pacer.js";
import * as microBreaks from "./js/microbreaks.js";
import * as nudges from "./js/nudges.js";
import * as prompts from "./js/prompts.js";
import * as sharing from "./js/sharing.js";
import * as workday from "./js/workday.js";

const $ = (id) => document.getElementById(id);

// Writes that change nothing are left out: writing the same text or attribute again still
// makes the browser restyle, lay out and paint (live messages come 20 times a second from a
// fast replay), and wakes mutation observers.

/** Set an element's text only when it changes. */
function setText(el, text) {
  const value = String(text);
  if (el.textContent !== value) el.textContent = value;
}

/** Set a data-* attribute only when its value changes. */
function setData(el, key, value) {
  const text = String(value);
  if (el.dataset[key] !== text) el.dataset[key] = text;
}

// Inline styles are compared with what was last written, not with what el.style reads back:
// the browser gives a value back in its own serialisation ("scale(0.8000)" reads "scale(0.8)",
// "50.0%" reads "50%"), so a comparison with the read never matched and the pacer's circle and
// still bar were written every frame (under reduced motion the circle's constant scale(0.8)
// too: code review). Only these helpers write these properties.
const stylesWritten = new WeakMap(); // element -> {property: value last written}

/** Set an inline style property only when it changes. */
function setStyle(el, property, value) {
  let written = stylesWritten.get(el);
  if (!written) stylesWritten.set(el, (written = {}));
  if (written[property] === value) return;
  written[property] = value;
  el.style[property] = value;
}

/** Set an inline transform only when it changes. */
function setTransform(el, value) {
  setStyle(el, "transform", value);
}

const TACHOGRAM_S = 300; // the tachogram shows the last 5 minutes of session time
const QUALITY_WINDOW_S = 60;
// RMSSD and coherence older than this (session time, three missed 5-s windows) are shown as
// the last value, dimmed: while the NN filter accepts no beat (frequent early beats, a loose
// strap) no window comes, and a frozen number must not read as the current one
const METRICS_STALE_S = 15;
// Heart rate shown from the mean RR of the last 6 beats (a few seconds): a whole number of
// cycles of bigeminy (2 beats) and trigeminy (3), so a regular run of early beats shows its
// steady mean rate; 5 beats held 3 early + 2 long intervals, then 2 + 3, and the tile flipped
// beat by beat (64, 57, 64/min at 700/1300 ms). A fixed time window would still flip by the
// interval straddling its edge.
const HR_BEATS = 6;
const COHERENCE_MAX = 3; // gauge scale of ln(1 + ratio): 3 is a ratio of about 19
// Coherence zones on the score ln(1 + ratio). HeartMath's published levels for its ratio
// (peak power / (total - peak), McCraty et al. 2009; emWave's defaults) put low below a ratio
// of about 0.9, medium to about 3.0 and high above: scores ln(1.9) = 0.64 and ln(4.0) = 1.39.
const COHERENCE_ZONES = [
  { upTo: 0.64, name: "low" },
  { upTo: 1.39, name: "medium" },
  { upTo: Infinity, name: "high" },
];

const state = {
  session: null, // the attached session (GET /sessions/{id})
  ws: null,
  wsRetry: 0,
  clock: new SessionClock(),
  beats: [], // {idx, t_s, rr_ms, contact, gap_before}, in idx order, each once
  // the read of beats the socket did not bring, while it is under way (see takeBeat)
  fill: null, // {pending: [live beats that came meanwhile, the first of them the one ahead]}
  beatsSince: 0, // session time the attach's read of stored beats started at
  lastMetrics: null,
  // the server's signal quality of the last 60 s of beats (live `signal`, or the session's
  // `last_signal`): it sees the NN filter's rejections; null until the first one arrives
  signal: null,
  signalSeq: -Infinity, // seq of the live signal message last applied
  signalT: null, // session time of that signal (its beat)
  // the source says the strap has no skin contact (live status `source_state` "no_contact"):
  // it sends no beats then, so only the status can tell
  noContact: false,
  guidance: null,
  // the live seq from which messages reflect the last breathing command's answer (its `seq`):
  // guidance numbered lower was published before the command (live messages wait for storage,
  // so it can arrive after the answer) and must not undo it
  commandSeq: -Infinity,
  guidanceSeq: -Infinity, // seq of the live guidance message last applied
  assessment: [], // per-rate results of the current assessment, in order
  assessmentVerdict: null,
  // the current assessment was abandoned before its verdict (stored `assessment_stopped`)
  assessmentStopped: null,
  // the person's own resonance rate (GET /baseline; strap sessions only): a number, null for
  // none yet, undefined while unknown
  personalResonance: undefined,
  rateFieldFrom: null, // the default the Rate field was last set to, so a change shows
  chartsDirty: true,
  lastChartDraw: 0,
  checkin: { stress: null, energy: null },
  lastSeq: null, // the live messages' sequence number, to count what was missed
  missed: 0,
};

// ---------------------------------------------------------------------------------- token

function askToken(message = "") {
  const dialog = $("token-dialog");
  $("token-error").textContent = message;
  $("token-input").value = "";
  if (!dialog.open) dialog.showModal();
  $("token-input").focus();
}

async function withAuth(fn) {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof api.ApiError && err.status === 401) {
      api.clearToken();
      askToken("That token was not accepted.");
    }
    throw err;
  }
}

$("token-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  api.setToken($("token-input").value);
  try {
    await api.get("/sessions?limit=1");
    $("token-dialog").close();
    await start();
  } catch (err) {
    api.clearToken();
    $("token-error").textContent = err.status === 401 ? "That token was not accepted." : err.message;
  }
});
$("token-change").addEventListener("click", () => askToken());

// ------------------------------------------------------------------------------- sessions

function describeSource(src) {
  if (!src) return "-";
  if (src.kind === "simulator") return `simulated person (seed ${src.seed})`;
  if (src.kind === "replay") return `replay of ${String(src.recording || src.path || "a recording").split("/").pop()}`;
  if (src.kind === "ble") {
    const stream = src.stream && src.stream !== "hr" ? ` (${src.stream.toUpperCase()}${src.motion ? ", motion" : ""})` : "";
    return `strap ${src.address}${stream}`;
  }
  return src.kind;
}

// Each list read is numbered: only the latest one asked for is drawn. The minutely refresh's
// read, asked for before a session was started here and answered after, would otherwise put
// back a list without it and select another session than the one the page attaches to.
let sessionLists = 0;

async function refreshSessionList(selectId) {
  const mine = ++sessionLists;
  const data = await withAuth(() => api.get("/sessions?limit=50"));
  const live = data.sessions.filter((s) => s.live);
  const select = $("session-select");
  if (mine !== sessionLists) return { live, want: select.value }; // a later read is drawn
  select.replaceChildren();
  if (!live.length) select.append(new Option("No running session", ""));
  for (const s of live) {
    const started = new Date(s.created_at * 1000).toLocaleTimeString();
    select.append(new Option(`${describeSource(s.source)}, ${s.mode}, since ${started}`, s.id));
  }
  const current = state.session;
  if (current && !live.some((s) => s.id === current.id)) {
    // The attached session ended: keep it in the list so the page still says what it shows.
    select.append(new Option(`${describeSource(current.source)}, ${current.mode} (${current.state})`, current.id));
  }
  // while an attach is under way (state.session is null meanwhile) the list keeps its session
  const want = selectId || current?.id || attaching || live[0]?.id || "";
  if ([...select.options].some((o) => o.value === want)) select.value = want;
  return { live, want: select.value };
}

// Each attach() is numbered; one still awaiting the service when a later one starts (a slow
// first load, then a pick in the list or the periodic refresh) gives way to the later one, so
// only the latest attach fills the page and opens a socket: never two sockets at once.
let attachCount = 0;
let attaching = null; // the session the latest attach() is loading, until it is done

async function attach(sessionId) {
  const mine = ++attachCount;
  const current = () => mine === attachCount;
  attaching = sessionId || null;
  try {
    await attachSteps(sessionId, current);
  } finally {
    if (current()) attaching = null;
  }
}

async function attachSteps(sessionId, current) {
  detach();
  if (!sessionId) {
    setConn("No running session");
    return;
  }
  const session = await withAuth(() => api.get(`/sessions/${sessionId}`));
  if (!current()) return; // a later attach() took over while this one waited
  state.session = session;
  const speed = session.source?.speed;
  state.clock = new SessionClock({ speed: typeof speed === "number" ? speed : 1 });
  state.beats = [];
  state.fill = null;
  state.lastMetrics = session.last_metrics;
  state.signal = session.last_signal ?? null;
  state.signalSeq = -Infinity;
  state.signalT = null;
  state.guidance = session.last_guidance;
  state.commandSeq = -Infinity;
  state.guidanceSeq = -Infinity;
  resetAssessment();
  state.lastSeq = null;
  state.missed = 0;
  $("st-missed").textContent = "0";
  await microBreaks.attach(session);
  if (!current()) return;
  $("session-stop").disabled = !session.live;
  $("start-new").open = !session.live;
  renderMetrics();
  renderGuidanceInfo();
  await loadAssessment(sessionId, current);
  if (!current()) return;
  await backfillBeats(sessionId, current);
  if (!current()) return;
  renderQuality();
  renderMetrics(); // the backfilled beats say whether the last window is old
  // the stored beats' heart rate: an ended session attached again shows its last one (rev12
  // review: "-" under "its last numbers"), a reload of a live one before its next beat
  renderHeartRate();
  renderEnded(); // a session picked after its end (or stopped by a restart) says so
  openSocket(sessionId);
}

/**
 * The tachogram's last 5 minutes from storage (GET /beats?since_t_s=...), so a reload or a
 * late attach shows the recent past at once; live beats then extend it. The socket opens after
 * this read: the beats stored in between come from storage too, once the first live beat shows
 * they are missing (takeBeat).
 */
async function backfillBeats(sessionId, current) {
  const last = state.session?.t_s;
  const since = typeof last === "number" ? Math.max(0, last - TACHOGRAM_S) : 0;
  state.beatsSince = since; // where a later read of beats the socket missed starts, at most
  try {
    const data = await withAuth(() => api.get(`/sessions/${sessionId}/beats?since_t_s=${since}`));
    if (!current()) return;
    const stored = data.beats.map(beatEntry);
    const cutoff = (stored.length ? stored[stored.length - 1].t_s : 0) - TACHOGRAM_S;
    state.beats = stored.filter((b) => b.t_s > cutoff);
    if (state.beats.length) observeClock(state.beats[state.beats.length - 1].t_s);
    markChartsDirty();
  } catch {
    // an older service without since_t_s: the tachogram fills from live beats
  }
}

function closeSocket() {
  renderStorage(null); // a new socket's welcome says it again while storage is behind
  if (state.ws) {
    state.ws.onclose = null;
    state.ws.onmessage = null; // what is still in flight belongs to the session left
    state.ws.close();
    state.ws = null;
  }
}

// What the Live card, the status and the pacer show belongs to the session attached. Leaving
// one (picking another, or "No running session") clears them at once: the beats, numbers and
// assessment of the session left are not shown under another's name, nor as current with none
// (they were: the tachogram of the session left stayed drawn under "No running session"). A
// session that ends while attached stays attached on purpose (the list keeps it, marked
// "(stopped)", so the page still says what it shows): its last numbers and beats stay as its
// record, dimmed, with a line saying it ended and they are not live (renderEnded).
function detach() {
  closeSocket();
  state.session = null;
  state.fill = null; // a read still under way belongs to the session left
  state.guidance = null;
  state.beats = [];
  state.lastMetrics = null;
  state.signal = null;
  state.signalSeq = -Infinity;
  state.signalT = null;
  state.noContact = false;
  state.lastSeq = null;
  state.missed = 0;
  resetAssessment();
  microBreaks.detach();
  $("session-stop").disabled = true;
  setText($("heart-rate"), "-");
  for (const id of ["st-state", "st-device", "st-battery", "st-contact"]) {
    setText($(id), "-");
    if ($(id).title) $(id).title = "";
  }
  setText($("st-beats"), "0");
  setText($("st-missed"), "0");
  renderQuality();
  renderMetrics();
  renderEnded();
  renderGuidanceInfo(); // the pacer says "No pacing", Stop pacing goes; the charts redraw
}

/** The Live card of an attached session that is over: dimmed, and a line says so. */
function renderEnded() {
  const s = state.session;
  const ended = Boolean(s) && s.state !== "running";
  const line = $("live-ended");
  setData($("live"), "ended", ended ? "true" : "false");
  if (line.hidden === ended) line.hidden = !ended;
  // (not "Session stopped", the top bar's words: one status line says it, this one explains)
  const how = s?.state === "interrupted" ? "was interrupted" : s?.state;
  if (ended) setText(line, `This session ${how}: the numbers and beats below are its last ones, not live.`);
}

function openSocket(sessionId) {
  closeSocket(); // one socket at most, whatever called this
  const ws = api.liveSocket(sessionId);
  state.ws = ws;
  const mine = attachCount;
  if (!serviceDown) setConn("Connecting..."); // while away, the top bar says that
  ws.onopen = () => {
    state.wsRetry = 0;
    // The socket's own retry can reach a restarted service before the next probe: that is an
    // answer too, so recovery (read everything anew) starts here; its attach says "Live".
    if (serviceDown) {
      serviceBack();
      return;
    }
    setConn("Live");
  };
  let first = true;
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    onMessage(msg);
    // The first message (the status) comes once the socket is subscribed: from here on it
    // brings every micro-break event, so the break state is read once more for those of the
    // time since attach read it (accept comes before subscribing: not at onopen).
    if (first) {
      first = false;
      fillFromWelcome(msg);
      microBreaks.catchUp();
    }
  };
  ws.onclose = (ev) => {
    if (state.ws !== ws) return;
    state.ws = null;
    renderStorage(null);
    if (ev.code === 1008) {
      api.clearToken();
      askToken("The live connection refused the token.");
      return;
    }
    if (ev.code === 4404) {
      setConn("Session not found");
      return;
    }
    // Ended sessions close normally after their final status; reconnect otherwise.
    const ended = state.session && state.session.state !== "running";
    if (ended) {
      setConn(`Session ${state.session.state}`);
      $("session-stop").disabled = true;
      loadHistory();
      return;
    }
    const cap = document.hidden ? WS_RETRY_HIDDEN_MAX_MS : WS_RETRY_MAX_MS;
    const delay = Math.min(cap, WS_RETRY_MS * 2 ** state.wsRetry++);
    if (!serviceDown) setConn("Connection lost, retrying...");
    // is the service there at all? (a refusal is an answer; no answer shows it away)
    api.get(`/sessions/${encodeURIComponent(sessionId)}`).then(
      (s) => {
        if (mine !== attachCount || state.session?.id !== sessionId || s.live) return;
        // it ended while the socket was away (a restart stops sessions): show it ended
        state.session.state = s.state;
        state.session.live = false;
        markEnded(s.state);
        setConn(`Session ${s.state}`);
        $("session-stop").disabled = true;
        refreshSessionList().catch(() => {});
      },
      () => {},
    );
    wsReconnect = () => {
      clearTimeout(wsRetryTimer);
      wsRetryTimer = null;
      wsReconnect = null;
      // not when the page attached anew meanwhile (that attach opens its own socket)
      if (mine === attachCount && state.session?.id === sessionId && !state.ws) openSocket(sessionId);
    };
    clearTimeout(wsRetryTimer);
    wsRetryTimer = setTimeout(wsReconnect, delay);
  };
}

// The live socket's reconnect backs off (0.5 s, doubling, up to 10 s; up to 60 s while the tab
// is hidden: a socket lost for the night is not retried every 10 s in a background tab, nor is
// it given up, since it brings the break flags that notify a hidden tab, nudges.js) and showing
// the tab reconnects at once, the back-off started again from 0.5 s.
const WS_RETRY_MS = 500;
const WS_RETRY_MAX_MS = 10000;
const WS_RETRY_HIDDEN_MAX_MS = 60000;
let wsRetryTimer = null;
let wsReconnect = null; // the pending reconnect, run early when the tab is shown

document.addEventListener("visibilitychange", () => {
  if (document.hidden || !wsReconnect) return;
  state.wsRetry = 0;
  wsReconnect();
});

function setConn(text) {
  $("conn-status").textContent = text;
}

// ----------------------------------------------------------------- service away and back

// The service did not answer at all (not running, restarting): every request says so (api.js
// UnreachableError) and the top bar says it once; the page asks again (every 3 s, backing
// off) and, once it answers, reads everything anew (sessions, the break state, prompts, history): a
// restart stops the sessions, so what the page showed as running may be over.
// The asking backs off (3 s, doubling, up to 30 s) and pauses while the tab is hidden: a
// service away for the night is not asked every 3 s in a background tab; showing the tab asks
// at once and starts again from 3 s.
const PROBE_MS = 3000;
const PROBE_MAX_MS = 30000;
let serviceDown = false;
let probeTimer = null;
let probeDelay = PROBE_MS;

function scheduleProbe() {
  clearTimeout(probeTimer);
  probeTimer = null;
  if (!serviceDown || document.hidden) return; // visibilitychange asks again
  probeTimer = setTimeout(probeService, probeDelay);
}

function serviceLost() {
  if (serviceDown) return;
  serviceDown = true;
  document.body.dataset.service = "down";
  setConn(`Not connected: ${api.UNREACHABLE}. Trying again by itself...`);
  probeDelay = PROBE_MS;
  scheduleProbe();
}

async function probeService() {
  probeTimer = null;
  if (!serviceDown) return;
  try {
    await api.get("/sessions?limit=1"); // an answer calls serviceBack (api.onReachability)
  } catch {
    // no answer (or a refusal, which is an answer: serviceBack ran)
  }
  probeDelay = Math.min(PROBE_MAX_MS, probeDelay * 2);
  if (serviceDown && !probeTimer) scheduleProbe();
}

document.addEventListener("visibilitychange", () => {
  if (!serviceDown) return;
  if (document.hidden) {
    clearTimeout(probeTimer);
    probeTimer = null;
  } else {
    probeDelay = PROBE_MS;
    clearTimeout(probeTimer);
    probeService();
  }
});

async function serviceBack() {
  if (!serviceDown) return;
  serviceDown = false;
  clearTimeout(probeTimer);
  probeTimer = null;
  document.body.dataset.service = "up";
  setConn("Connected again: reading the current state...");
  prompts.serviceBack();
  if ($("checkin-status").textContent.includes(api.UNREACHABLE)) {
    $("checkin-status").textContent = "The service is back: tap your stress and energy again to save.";
  }
  const wanted = state.session?.id || attaching;
  let live = [];
  try {
    ({ live } = await refreshSessionList());
  } catch {
    return; // away again (serviceLost said so) or the token: the next answer retries
  }
  try {
    // the session shown, if it still runs; else the list's choice (a restart stopped it:
    // attaching to it shows it ended)
    const target = wanted && live.some((s) => s.id === wanted) ? wanted : wanted || live[0]?.id || "";
    await attach(target);
  } catch (err) {
    if (err?.unreachable || serviceDown) return; // away again: the next answer retries
    if (err instanceof api.ApiError && err.status === 401) return; // the token form asks
    // An answer, but not the session (404: the service came back with other data): the top
    // bar says what the list holds instead of "reading the current state" for ever, and the
    // rest of the page is read anyway.
    const pick = live.length ? "pick a running session in the list" : "no session is running";
    setConn(`The session shown is not on the service any more (${err?.status ?? "error"}): ${pick}.`);
  }
  loadResonance();
  loadHistory();
  workday.refresh();
  sharing.refresh();
}

api.onReachability((up) => (up ? serviceBack() : serviceLost()));

// ------------------------------------------------------------------------- live messages

/**
 * Every message carries the session's sequence number: a jump means the service dropped
 * messages for this (slow) client. Welcome messages repeat the latest number; they are not new.
 */
function countMissed(msg) {
  if (typeof msg.seq !== "number") return;
  if (state.lastSeq !== null && msg.seq > state.lastSeq + 1) {
    state.missed += msg.seq - state.lastSeq - 1;
    $("st-missed").textContent = String(state.missed);
  }
  if (state.lastSeq === null || msg.seq > state.lastSeq) state.lastSeq = msg.seq;
}

function onMessage(msg) {
  countMissed(msg);
  switch (msg.type) {
    case "beat":
      onBeat(msg);
      break;
    case "metrics":
      state.lastMetrics = msg.metrics;
      renderMetrics();
      break;
    case "signal":
      onSignal(msg);
      break;
    case "guidance":
      onGuidance(msg);
      break;
    case "micro_break":
      microBreaks.onMessage(msg);
      if (msg.event === "micro_break") {
        nudges.nudge({
          title: "Time for a short break",
          body: msg.micro_break?.reason?.summary || "A short break is due.",
          tag: "hrvpace-break",
          onOpen: () => microBreaks.focusBanner(),
        });
      }
      if (msg.event === "micro_break" || msg.event === "break_effect") {
        const e = { event: msg.event, data: msg.micro_break, recorded_at: msg.timestamp, session_id: msg.session_id, t_s: msg.t_s };
        liveBreakEvents.push({ e, at: performance.now() });
        if (liveBreakEvents.length > 20) liveBreakEvents.shift();
        const li = breakHistoryItem(e);
        const list = $("break-history");
        if (!list.querySelector("li[data-event]")) list.replaceChildren();
        list.prepend(li);
      }
      break;
    case "prompt":
      prompts.onMessage(msg);
      break;
    case "status":
      onStatus(msg);
      break;
    case "storage":
      renderStorage(msg);
      break;
    default:
      break; // a newer server may add types; ignore what we do not know
  }
}

/**
 * The service's `storage` notice: while its database takes no writes, every live message waits
 * for its write, so the page would just go quiet; a line says why. Cleared when storage catches
 * up, and whenever the socket goes (a new one's welcome brings the notice again while behind).
 */
function renderStorage(msg) {
  const line = $("live-storage");
  const behind = Boolean(msg?.behind);
  if (line.hidden === behind) line.hidden = !behind;
  if (!behind) return;
  const since = typeof msg.since === "number"
    ? ` since ${new Date(msg.since * 1000).toLocaleTimeString([], { timeStyle: "short" })}`
    : "";
  setText(line, `Storage is behind${since}: the service cannot save data for now, so the live view is paused; what it receives waits in memory.`);
}

/** A beat as the tachogram keeps it (a live `beat` message or a stored beat of GET /beats). */
function beatEntry(b) {
  return { idx: b.idx, t_s: b.t_s, rr_ms: b.rr_ms, contact: b.contact, gap_before: b.gap_before };
}

function onBeat(msg) {
  observeClock(msg.t_s);
  takeBeat(msg);
}

/**
 * A live beat onto the tachogram: in `idx` order, each beat once. One beyond the next `idx`
 * means the socket did not bring the beats between: those stored after the backfill read and
 * before the socket subscribed (attach), those of a reconnect's outage (the page reconnects
 * without `since_seq`: live from then on), or ones the service dropped for a slow client. They
 * are read from storage (fillGap) while the live beats that come meanwhile wait.
 */
function takeBeat(msg) {
  if (state.fill) {
    state.fill.pending.push(msg);
    return;
  }
  const last = state.beats[state.beats.length - 1];
  if (typeof msg.idx !== "number" || (last && typeof last.idx !== "number")) {
    // an older service without idx: by time, as before
    if (last && msg.t_s <= last.t_s) return;
  } else {
    if (last && msg.idx <= last.idx) return; // already shown (backfilled, or read in a fill)
    if (msg.idx > (last ? last.idx + 1 : 0)) {
      fillGap(msg);
      return;
    }
  }
  pushBeat(msg);
  showBeat(msg);
}

/**
 * Read the stored beats between the last one shown and `first` (a live beat further on), then
 * add them, `first` and the live beats that came meanwhile, in order. A live beat is published
 * only once it is stored (api/live.py), so every beat before `first` is in storage by now.
 * Only the tachogram's 5 minutes before `first` are read, and from the last shown beat's `t_s`
 * on, inclusive (beats may share a `t_s`); what was shown already is told by `idx`.
 */
async function fillGap(first) {
  const fill = { pending: first ? [first] : [] };
  state.fill = fill;
  const sessionId = state.session?.id;
  const last = state.beats[state.beats.length - 1];
  const known = last ? last.idx : -1;
  const floor = first ? first.t_s - TACHOGRAM_S : state.beatsSince;
  const from = Math.max(last ? last.t_s : -Infinity, floor);
  let between = [];
  if (sessionId) {
    try {
      const data = await withAuth(() => api.get(`/sessions/${sessionId}/beats?since_t_s=${from}`));
      between = data.beats.filter((b) => b.idx > known && (!first || b.idx < first.idx) && b.t_s >= from);
    } catch {
      // not read: the line goes across the hole, as it did before this read existed
    }
  }
  if (state.fill !== fill) return; // the page attached anew (or left) meanwhile
  state.fill = null;
  for (const b of between) pushBeat(b);
  if (first) pushBeat(first); // the hole it showed is filled (or cannot be): not read again
  const newest = first ?? between[between.length - 1];
  if (newest) showBeat(newest);
  for (const msg of fill.pending.slice(first ? 1 : 0)) takeBeat(msg); // they may show a hole of their own
}

/**
 * The socket's welcome `status` counts more beats than the page shows: those stored after the
 * backfill read and published before the socket subscribed (the browser's `open` comes before
 * the server subscribes). A live beat shows such a hole too (takeBeat), but a strap that sends
 * nothing more, or a session that ends, sends none: the count said 8 and the tachogram and
 * heart rate stayed empty (CI, stop 29). Read from storage at once, as a hole is.
 */
function fillFromWelcome(msg) {
  if (msg.type !== "status" || typeof msg.n_beats !== "number" || state.fill) return;
  const last = state.beats[state.beats.length - 1];
  if (last && typeof last.idx !== "number") return; // an older service without idx
  if (msg.n_beats > (last ? last.idx + 1 : 0)) fillGap(null);
}

/** Append a beat (the next in idx order) and drop those older than the tachogram's 5 minutes. */
function pushBeat(b) {
  const beats = state.beats;
  beats.push(beatEntry(b));
  const cutoff = b.t_s - TACHOGRAM_S;
  let drop = 0;
  while (drop < beats.length && beats[drop].t_s <= cutoff) drop++;
  if (drop) beats.splice(0, drop);
}

/** Heart rate: the mean of the last HR_BEATS intervals the tachogram holds ("-" without). */
function renderHeartRate() {
  const recent = state.beats.slice(-HR_BEATS);
  if (!recent.length) return;
  const meanRr = recent.reduce((a, b) => a + b.rr_ms, 0) / recent.length;
  setText($("heart-rate"), Math.round(60000 / meanRr));
}

/** The tiles of the newest beat `msg` (a live one): heart rate, contact, count, quality. */
function showBeat(msg) {
  renderHeartRate();
  setText($("st-contact"), msg.contact === null ? "not reported" : msg.contact ? "yes" : "NO CONTACT");
  setText($("st-beats"), msg.idx + 1);
  renderQuality();
  markChartsDirty();
}

/** The server's signal quality (live `signal` message) of the session shown, newest first. */
function onSignal(msg) {
  if (!state.session || msg.session_id !== state.session.id) return; // a session no longer shown
  if (typeof msg.seq === "number") {
    if (msg.seq <= state.signalSeq) return; // older than the one shown
    state.signalSeq = msg.seq;
  }
  state.signal = msg.signal;
  if (typeof msg.t_s === "number") state.signalT = msg.t_s;
  renderQuality();
  renderMetrics(); // every 5 s of session time: is the last window getting old?
}

/**
 * The page's own estimate, until the server's first `signal` message: share of the last 60 s
 * of beats that are clean: skin contact (or not reported), no dropped packet before them, and
 * an RR interval of a plausible heartbeat (300-2000 ms). It cannot see the beats the server's
 * NN filter rejects (> 20 % from the last accepted one, e.g. frequent early beats).
 */
function signalQuality() {
  const beats = state.beats;
  if (!beats.length) return null;
  const end = beats[beats.length - 1].t_s;
  const win = beats.filter((b) => b.t_s > end - QUALITY_WINDOW_S);
  const clean = win.filter(
    (b) => b.contact !== false && !b.gap_before && b.rr_ms >= 300 && b.rr_ms <= 2000,
  );
  return clean.length / win.length;
}

const QUALITY_NOTES = {
  good: "good: clean beats, last 60 s",
  fair: "fair: some beats lost",
  poor: "poor: check the strap",
};
// Frequent early beats: the NN filter leaves them out, so the quality falls, but the strap is
// fine. Plain words, no diagnosis (hrv.rhythm: "It is not a diagnosis").
const IRREGULAR_NOTE = "irregular heartbeat: frequent early beats; HRV readings are unreliable now (not a strap problem)";
const NO_CONTACT_NOTE = "no skin contact: check the strap";
// The server's quality is of the last 60 s: contact lost in it and back since, the note says so
// in the past tense beside "Contact: yes" (not "check the strap" for up to a minute). Back means
// this long of beats with contact since the last without: a strap that keeps slipping (contact
// lost every few seconds) still says "check the strap".
const CONTACT_BACK_NOTE = "skin contact was lost in the last minute; it is back now";
const CONTACT_BACK_S = 10;

/** Whether the strap's contact came back: the newest beat has contact, and no beat of the last
 * CONTACT_BACK_S s of session time lacked it (the page's beats: the last 5 minutes). */
function contactBack() {
  const beats = state.beats;
  const newest = beats[beats.length - 1];
  if (!newest || newest.contact !== true || state.noContact) return false;
  for (let i = beats.length - 1; i >= 0; i--) {
    if (beats[i].contact === false) return newest.t_s - beats[i].t_s >= CONTACT_BACK_S;
  }
  return newest.t_s - beats[0].t_s >= CONTACT_BACK_S;
}

/**
 * The quality tile: the server's latest `signal` (which sees the NN filter's verdicts and
 * tells frequent early beats from strap trouble), or the page's own estimate before it.
 */
function renderQuality() {
  const el = $("signal-quality");
  const note = $("signal-quality-note");
  const s = state.signal;
  const fromServer = !!s && typeof s.quality === "number";
  const q = fromServer ? s.quality : signalQuality();
  if (q === null) {
    setText(el, "-");
    setData(el, "level", "");
    setData(el, "source", "");
    setData(note, "reason", state.noContact ? "no-contact" : "");
    setText(note, state.noContact ? NO_CONTACT_NOTE : "clean beats, last 60 s");
    return;
  }
  const level = q >= 0.9 ? "good" : q >= 0.7 ? "fair" : "poor";
  setText(el, `${Math.round(q * 100)} %`);
  setData(el, "level", level);
  setData(el, "source", fromServer ? "server" : "page");
  // a lost contact is the strap's whatever the rhythm (as the pacer holds for it first)
  let reason = level;
  if (state.noContact) reason = "no-contact";
  else if (fromServer && s.contact === false) reason = contactBack() ? "contact-back" : "no-contact";
  else if (fromServer && s.irregular_rhythm === true) reason = "irregular";
  setData(note, "reason", reason);
  const notes = { irregular: IRREGULAR_NOTE, "no-contact": NO_CONTACT_NOTE, "contact-back": CONTACT_BACK_NOTE };
  setText(note, notes[reason] || QUALITY_NOTES[level]);
}

/** A number in the person's locale (decimal comma where that is the custom). */
function fmt(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return "-";
  return value.toLocaleString(undefined, {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
    useGrouping: false,
  });
}

const MODE_WORDS = { monitor: "free monitoring", practice: "breathing practice", assessment: "resonance assessment" };

/** Session time of the newest beat or signal the page has (null before any). */
function newestSessionT() {
  const beats = state.beats;
  const times = [beats.length ? beats[beats.length - 1].t_s : null, state.signalT];
  const known = times.filter((t) => typeof t === "number");
  return known.length ? Math.max(...known) : null;
}

function renderMetrics() {
  const m = state.lastMetrics;
  const newest = newestSessionT();
  const stale = !!m && typeof m.t_s === "number" && newest !== null && newest - m.t_s > METRICS_STALE_S;
  const since = stale ? `from ${clockLabel(m.t_s)} (no clean minute since)` : "";
  setText($("rmssd"), m ? fmt(m.rmssd_ms, 0) : "-");
  setText(
    $("rmssd-unit"),
    m && typeof m.rmssd_ms === "number" ? (stale ? `ms, ${since}` : "ms") : "ms, first value after 60 s of beats",
  );
  const score = m ? m.coherence_score : null;
  setText($("coherence"), fmt(score, 2));
  setData($("coherence"), "value", score ?? "");
  const zone = setGauge($("coherence-gauge"), score, { lo: 0, hi: COHERENCE_MAX, zones: COHERENCE_ZONES });
  setData($("coherence"), "zone", zone || "none");
  setText(
    $("coherence-note"),
    score === null || score === undefined
      ? "needs about a minute of clean beats"
      : stale
        ? since
        : `peak ratio ${fmt(m.coherence_ratio, 1)} at ${fmt(m.coherence_peak_hz * 60, 1)} cycles/min${zone ? ` (${zone})` : ""}`,
  );
  for (const id of ["rmssd", "coherence", "coherence-gauge"]) $(id).classList.toggle("stale", stale);
  setData($("rmssd"), "stale", stale ? "true" : "false");
}

const SILENT_CONN = "Live, but no data";

/** The status's silence_warning with "for N s" as "since HH:MM:SS" (the silence's start). */
function silenceSince(msg) {
  const found = /for (\d+) s/.exec(msg.silence_warning);
  if (!found || typeof msg.timestamp !== "number") return msg.silence_warning;
  const since = new Date((msg.timestamp - Number(found[1])) * 1000).toLocaleTimeString();
  return msg.silence_warning.replace(found[0], `since ${since}`);
}

function onStatus(msg) {
  if (state.session) state.session.state = msg.state;
  // a connected strap that sent nothing for 10 s: the service's silence_warning says so (the
  // beats just stop; no state does), in the State tile until data comes again
  const silent = msg.silence_warning ? ", no data" : "";
  setText($("st-state"), msg.source_state ? `${msg.state} (${msg.source_state}${silent})` : msg.state);
  setText($("st-device"), msg.device_name || describeSource(state.session?.source));
  // the strap's battery at 20 %, 10 %, 5 %: the service's warning (battery_warning) says so
  const low = msg.battery_warning ? " (low)" : "";
  setText($("st-battery"), msg.battery_pct === null ? "-" : `${msg.battery_pct} %${low}`);
  if ($("st-battery").title !== (msg.battery_warning || "")) $("st-battery").title = msg.battery_warning || "";
  setText($("st-beats"), msg.n_beats);
  // the silence's line says since when (the message's "for 10 s" is as of its start: it is
  // sent at the silence's start and end only), in the tooltip and, visible on a touch screen
  // and said once by a screen reader, in the top bar (a polite live region: rev12 review)
  const silence = msg.silence_warning ? silenceSince(msg) : null;
  const said = silence || msg.message;
  if (said && $("st-state").title !== said) $("st-state").title = said;
  else if (!said && $("st-state").title.startsWith("no data from ")) $("st-state").title = "";
  const conn = $("conn-status").textContent;
  if (msg.state === "running" && (conn === "Live" || conn.startsWith(SILENT_CONN))) {
    const line = silence ? `${SILENT_CONN}${silence.split(";")[0].slice("no data".length)}` : "Live";
    if (conn !== line) setConn(line);
  }
  // lost skin contact: no beats come, so the status is what says it (the note and the tile)
  const noContact = msg.source_state === "no_contact";
  if (noContact) $("st-contact").textContent = "NO CONTACT";
  if (noContact !== state.noContact) {
    state.noContact = noContact;
    renderQuality();
  }
  if (msg.source_state === "hr_only" && typeof msg.heart_rate_bpm === "number") {
    // A strap that reports heart rate but no RR intervals: HR only, no HRV (never made up).
    $("heart-rate").textContent = Math.round(msg.heart_rate_bpm);
    $("signal-quality").textContent = "-";
    $("signal-quality-note").textContent = "this device sends no beat-to-beat (RR) intervals: heart rate only, no HRV";
  }
  if (msg.state !== "running") {
    setConn(`Session ${msg.state}${msg.message ? `: ${msg.message}` : ""}`);
    $("session-stop").disabled = true;
    markEnded(msg.state);
    // a session that ended paces no more: its pacer, countdown and Stop pacing go (they kept
    // going, at 60 frames a second, when a session was stopped while pacing: code review)
    if (state.guidance) {
      state.guidance = null;
      renderGuidanceInfo(); // and the frames stop
    }
  }
}

/** The attached session ended (`how`: stopped, ended, failed): its list entry says so, not
 * "running" (the list read before its end, e.g. on reconnecting after a restart). */
function markEnded(how) {
  const s = state.session;
  if (!s) return;
  const opt = [...$("session-select").options].find((o) => o.value === s.id);
  if (opt) opt.textContent = `${describeSource(s.source)}, ${s.mode} (${how})`;
  renderEnded();
}

// ------------------------------------------------------------------------------ breathing

function onGuidance(msg) {
  observeClock(msg.t_s);
  // "stopped": the pacer was stopped or its time ran out; the session goes on monitoring
  const stale = typeof msg.seq === "number" && msg.seq < state.commandSeq;
  if (!stale) {
    state.guidance = msg.guidance?.mode === "stopped" ? null : msg.guidance;
    if (typeof msg.seq === "number") state.guidanceSeq = msg.seq;
  }
  for (const ev of msg.events || []) {
    if (ev.type === "mode_change" && ev.mode === "assessment") {
      resetAssessment();
    } else {
      takeAssessmentEvent(ev);
      if (ev.type === "assessment_complete" && ev.result) loadResonance();
    }
  }
  renderGuidanceInfo();
}

/** The slowest and fastest rates practice paces at an assessed rate (breathing.engine
 * practice_rate_bpm: the adaptive range, which is the assessment's own 4.5-7/min). */
const PRACTICE_MIN_BPM = 4.5;
const PRACTICE_MAX_BPM = 7.0;

/**
 * The rate a practice at an assessed resonance rate paces at, as the service's
 * practice_rate_bpm: within 4.5-7/min, to one decimal, half up on whole hundredths (so it is
 * the rate shown with one decimal, and the service, given no rate, paces the same).
 */
function practiceRate(resonance) {
  const hundredths = Math.round(Math.min(PRACTICE_MAX_BPM, Math.max(PRACTICE_MIN_BPM, resonance)) * 100);
  return Math.floor((hundredths + 5) / 10) / 10;
}

/** " (at 4.5/min: practice stays within 4.5-7/min)" when the rate practised is not `rate` as
 * shown (an assessed rate outside the paced range); else "". */
function clampNote(rate) {
  const p = practiceRate(rate);
  const range = `${fmt(PRACTICE_MIN_BPM, 1)}-${fmt(PRACTICE_MAX_BPM, 0)}/min`;
  const clamped = rate < PRACTICE_MIN_BPM || rate > PRACTICE_MAX_BPM;
  return clamped ? ` (at ${fmt(p, 1)}/min: practice stays within ${range})` : "";
}

function resetAssessment() {
  state.assessment = [];
  state.assessmentVerdict = null;
  state.assessmentStopped = null;
  markChartsDirty();
}

/**
 * One assessment event, live or stored (GET .../assessments, in order): a finished step, the
 * verdict, or `assessment_stopped` (abandoned before a verdict: its finished steps stay, no
 * rate). The page shows the latest assessment: a step after a verdict or a stop, or a first
 * step again, begins a new one.
 */
function takeAssessmentEvent(ev) {
  if (ev.type === "assessment_step" && ev.result) {
    const over = state.assessmentVerdict || state.assessmentStopped;
    if (over || (ev.step_index === 0 && state.assessment.length)) resetAssessment();
    addAssessmentStep(ev.result);
  } else if (ev.type === "assessment_complete" && ev.result) {
    state.assessmentStopped = null;
    state.assessmentVerdict = ev.result;
    if (Array.isArray(ev.result.rates) && ev.result.rates.length) state.assessment = [...ev.result.rates];
  } else if (ev.type === "assessment_stopped") {
    // the rows shown belong to this assessment unless an earlier one had ended
    if (state.assessmentVerdict || state.assessmentStopped || !ev.steps_done) state.assessment = [];
    state.assessmentVerdict = null;
    state.assessmentStopped = ev;
  }
  markChartsDirty();
}

function addAssessmentStep(result) {
  const i = state.assessment.findIndex((r) => r.rate_bpm === result.rate_bpm);
  if (i >= 0) state.assessment[i] = result;
  else state.assessment.push(result);
  markChartsDirty();
}

/** Whether the session is on the person (a strap, watch or optical sensor): only then are its
 * results the person's own numbers (README "Whose numbers"). */
function personSession() {
  return state.session?.source?.kind === "ble";
}

/** "this simulated person" / "the replayed recording": whose the session's numbers are. */
function sessionSubject() {
  const kind = state.session?.source?.kind;
  return kind === "simulator" ? "this simulated person" : kind === "replay" ? "the replayed recording" : "this session";
}

async function loadAssessment(sessionId, current) {
  try {
    const data = await api.get(`/sessions/${sessionId}/breathing/assessments`);
    if (!current()) return; // the page moved on: these results are not the one shown
    for (const item of data.results) takeAssessmentEvent(item.data || item);
  } catch {
    // no stored results (or an older server): the chart fills as results arrive
  }
  renderGuidanceInfo();
}

function renderGuidanceInfo() {
  const g = state.guidance;
  wakeFrames(); // the pacer starts, or stops and shows why
  $("pacer-stop").hidden = !g;
  document.body.classList.toggle("pacing", Boolean(g));
  if (!g) $("break-countdown").hidden = true;
  $("pacer-rate").textContent = g ? fmt(g.rate_bpm, 1) : "-";
  $("pacer-mode").textContent = g ? `(${g.mode}${g.resonance_bpm ? `, resonance ${fmt(g.resonance_bpm, 1)}/min` : ""})` : "";
  renderResonanceNote();
  const box = $("assessment");
  const progress = g?.assessment;
  const running = Boolean(progress && !progress.done && g.mode === "assessment");
  // A running assessment after a verdict or a stop is a new one (a restart while one runs
  // stops it without a mode change, also from another tab; a reload reads the stop back):
  // only its own steps are shown.
  if (running && (state.assessmentVerdict || state.assessmentStopped)) resetAssessment();
  const stopped = running ? null : state.assessmentStopped;
  const v = running ? null : state.assessmentVerdict;
  const show = running || state.assessment.length > 0 || Boolean(v) || Boolean(stopped);
  box.hidden = !show;
  $("assessment-practice").hidden = true;
  if (!show) return;
  const rate = typeof v?.resonance_bpm === "number" ? v.resonance_bpm : null;
  let where;
  if (running) {
    where = "running";
    $("assessment-progress").textContent =
      `Assessment: step ${progress.step_index + 1} of ${progress.n_steps}, breathing at ${fmt(progress.rate_bpm, 1)}/min`;
    // (fraction_done is already the share of the whole assessment, not of this step)
    $("assessment-bar").value = progress.fraction_done;
  } else if (stopped) {
    where = "stopped";
    const done = stopped.steps_done;
    $("assessment-progress").textContent =
      `Assessment stopped at step ${stopped.step_index + 1} of ${stopped.n_steps} (${fmt(stopped.rate_bpm, 1)}/min): ` +
      `no resonance rate. ${done ? `The ${done === 1 ? "finished step is" : `${done} finished steps are`} shown below; ` : ""}` +
      "a new assessment starts from the first step.";
    $("assessment-bar").value = done / stopped.n_steps;
  } else if (v) {
    where = "complete";
    $("assessment-progress").textContent = "Assessment complete";
    $("assessment-bar").value = 1;
  } else {
    // steps without a verdict or a stop: the session ended (or pacing went) during it
    where = "unfinished";
    $("assessment-progress").textContent = "Assessment not finished (the session or the pacing ended during it): no resonance rate.";
    $("assessment-bar").value = 0;
  }
  box.dataset.state = where;
  let result = "";
  if (v && rate !== null) {
    const why = `${v.reason || ""}${v.range_note ? ` Note: ${v.range_note}.` : ""}`;
    result = personSession()
      ? `Your resonance rate: ${fmt(rate, 1)} breaths/min. ${why}`
      : `Resonance rate of ${sessionSubject()}: ${fmt(rate, 1)} breaths/min (not you: not kept as your rate). ${why}`;
    // the assessment ended the pacing: practising at the rate it found is one click
    // (within the paced range 4.5-7/min, as the service practises it: the rate shown is sent)
    if (!g && state.session?.live) {
      const range = `${fmt(PRACTICE_MIN_BPM, 1)}-${fmt(PRACTICE_MAX_BPM, 0)}/min`;
      const outside = fmt(practiceRate(rate), 1) !== fmt(rate, 1) ? ` (practice stays within ${range})` : "";
      $("assessment-practice").textContent = `Practise at ${fmt(practiceRate(rate), 1)} breaths/min${outside}`;
      $("assessment-practice").hidden = false;
    }
  } else if (v) {
    result = `No clear resonance rate: ${v.reason || "not enough usable data"}`;
  }
  $("assessment-result").textContent = result;
  $("assessment-caption").textContent =
    "Heart-rate oscillation (peak to trough, beats/min) at each breathing rate" +
    (rate !== null ? "; the tested rate nearest the resonance rate is highlighted" : "");
  markChartsDirty();
}

function assessmentRows() {
  return [...state.assessment].sort((a, b) => b.rate_bpm - a.rate_bpm);
}

function drawAssessment() {
  const resonance = state.assessmentStopped ? null : (state.assessmentVerdict?.resonance_bpm ?? null);
  const rows = assessmentRows();
  // The tested rate nearest the resonance rate (which may lie between two tested rates).
  let nearest = -1;
  if (resonance !== null) {
    rows.forEach((r, i) => {
      if (nearest < 0 || Math.abs(r.rate_bpm - resonance) < Math.abs(rows[nearest].rate_bpm - resonance)) nearest = i;
    });
  }
  const bars = rows.map((r, i) => ({
    label: `${fmt(r.rate_bpm, 1)}/min`,
    value: r.usable && r.peak_to_trough_bpm !== null ? r.peak_to_trough_bpm : null,
    highlight: i === nearest,
  }));
  barChart($("assessment-chart"), bars, { yLabel: "HR peak-trough (bpm)", empty: "results appear after each 2-minute step" });
}

/** The per-rate results as a table too (the chart is a picture; this is readable by all). */
function renderAssessmentTable() {
  const tbody = $("assessment-table").querySelector("tbody");
  const rows = assessmentRows().map((r) => {
    const tr = document.createElement("tr");
    tr.dataset.rate = String(r.rate_bpm);
    const cells = [
      `${fmt(r.rate_bpm, 1)}/min`,
      r.peak_to_trough_bpm === null ? "-" : `${fmt(r.peak_to_trough_bpm, 1)} bpm`,
      r.phase_deg === null ? "-" : `${r.phase_deg > 0 ? "+" : ""}${fmt(r.phase_deg, 0)} deg`,
      r.coherence === null ? "-" : fmt(r.coherence, 2),
      r.usable ? "yes" : `no${r.note ? `: ${r.note}` : ""}`,
    ];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    return tr;
  });
  tbody.replaceChildren(...rows);
}

async function breathingCommand(path, body) {
  $("breathing-error").textContent = "";
  if (!state.session) {
    $("breathing-error").textContent = "Start or pick a running session first.";
    return;
  }
  const sessionId = state.session.id;
  try {
    const out = await withAuth(() => api.post(`/sessions/${sessionId}/breathing/${path}`, body));
    if (state.session?.id !== sessionId) return; // another session was picked meanwhile
    if (out.guidance) observeClock(out.t_s);
    if (typeof out.seq === "number") state.commandSeq = out.seq;
    // unless the live stream already brought this answer's guidance or a later one
    if (!(typeof out.seq === "number" && state.guidanceSeq >= out.seq)) {
      state.guidance = out.guidance?.mode === "stopped" ? null : out.guidance;
    }
    // (a stop or another practice abandons a running assessment: its assessment_stopped
    // comes with the live guidance message, and is stored for a reload)
    if (path === "assessment") resetAssessment();
    renderGuidanceInfo();
  } catch (err) {
    $("breathing-error").textContent = err.message;
  }
}

$("assess-button").addEventListener("click", () => breathingCommand("assessment"));
/** The practice options of the form: rate, inhale:exhale, duration (empty: until stopped). */
function practiceBody(extra = {}) {
  const duration = $("practice-duration").value;
  return {
    rate_bpm: Number($("practice-rate").value),
    inhale_to_exhale: Number($("practice-ratio").value),
    duration_s: duration ? Number(duration) : null,
    ...extra,
  };
}

$("practice-button").addEventListener("click", () => breathingCommand("practice", practiceBody()));
$("adaptive-button").addEventListener("click", () => {
  // adaptive pacing keeps its rate within 4.5-7/min, so it starts there (the service refuses
  // a start outside it); a fixed practice takes the field's whole 3-12
  const body = practiceBody({ adaptive: true });
  if (!(body.rate_bpm >= PRACTICE_MIN_BPM && body.rate_bpm <= PRACTICE_MAX_BPM)) {
    $("breathing-error").textContent =
      `Adaptive pacing starts within ${fmt(PRACTICE_MIN_BPM, 1)}-${fmt(PRACTICE_MAX_BPM, 0)} breaths/min (it keeps the rate there): ` +
      "set the Rate within it, or use Practice for a fixed rate.";
    return;
  }
  breathingCommand("practice", body);
});
$("pacer-stop").addEventListener("click", async () => {
  // Stop pacing during a breathing break (the 2-minute reset) whose pacer it is ends the
  // break: the pacer is the break, and a break left running without it showed "Break in
  // progress" and nothing to do until its time was up. Ending it stops that pacer (the
  // end-break API). A practice that was pacing before the break is not the break's (the
  // service's break_paces is false): Stop pacing stops the practice and the timed break runs on.
  if (microBreaks.runningBreakKind() === "breathing" && (await microBreaks.breakOwnsPacer())) {
    await microBreaks.endBreak();
  }
  await breathingCommand("stop");
});
$("assessment-practice").addEventListener("click", () => {
  const rate = state.assessmentVerdict?.resonance_bpm;
  if (typeof rate === "number") breathingCommand("practice", practiceBody({ rate_bpm: practiceRate(rate) }));
});

const RESET_S = 120;

/**
 * The 2-minute reset: a breathing break at the resonance rate that ends by itself (the header's
 * button, and a breathing-reset prompt's Start). Resolves to null once started, otherwise to
 * why not, in a sentence.
 */
async function startReset() {
  $("breathing-error").textContent = "";
  if (!state.session?.live) {
    return "Start or pick a running session for a reset (it measures your heart before and after).";
  }
  try {
    if (document.body.classList.contains("in-break")) return "A break is already running; it ends by itself.";
    await withAuth(() =>
      api.post(`/sessions/${state.session.id}/microbreaks/start`, { kind: "breathing", duration_s: RESET_S }),
    );
    return null;
  } catch (err) {
    return resetRefusal(err);
  } finally {
    if (state.session?.live) scrollBelowBanners($("breathing"));
  }
}

/**
 * Why a reset did not start, in a sentence, from the service's problem `code` (its `detail`
 * when the code says no more): a 409 is not always a running break (a session the service
 * stopped, e.g. on a restart, answers `session_not_running`).
 */
function resetRefusal(err) {
  if (err?.unreachable) return `Reset not started: ${api.UNREACHABLE}. The page reconnects by itself.`;
  const code = err?.code;
  if (code === "session_not_running" || code === "session_not_found") {
    // the page showed it as running: it is not (stopped elsewhere, or the service restarted)
    if (state.session) state.session.live = false;
    $("session-stop").disabled = true;
    refreshSessionList().catch(() => {});
    return code === "session_not_running"
      ? "Reset not started: this session is not running any more (it was stopped, or the service restarted). Start a session for a reset."
      : "Reset not started: this session is not known to the service. Start a session for a reset.";
  }
  const detail = typeof err?.detail === "string" ? err.detail : err?.message || "";
  if (code === "break_running" || (err?.status === 409 && /break is already running/.test(detail))) {
    return "A break is already running; it ends by itself.";
  }
  return `Reset not started: ${detail || err?.message || "the service refused it"}`;
}

/**
 * Tables wider than their box (History's eleven columns on a phone): the box becomes a named,
 * focusable region (arrow keys scroll it) and a hint above it says it scrolls sideways. Only
 * while it overflows: a table that fits has no extra tab stop and no hint.
 */
function scrollableTables() {
  const update = (wrap, hint) => {
    const over = wrap.scrollWidth > wrap.clientWidth + 1;
    wrap.dataset.overflow = String(over);
    hint.hidden = !over;
    if (over) {
      wrap.tabIndex = 0;
      wrap.setAttribute("role", "region");
      const caption = wrap.querySelector("caption")?.textContent?.trim() || "Table";
      wrap.setAttribute("aria-label", `${caption} (scrolls sideways)`);
    } else {
      wrap.removeAttribute("tabindex");
      wrap.removeAttribute("role");
      wrap.removeAttribute("aria-label");
    }
  };
  for (const wrap of document.querySelectorAll(".table-wrap")) {
    const hint = document.createElement("p");
    hint.className = "hint scroll-hint";
    hint.textContent = "Wider than the screen: swipe sideways (or focus it and use the arrow keys) for every column.";
    hint.hidden = true;
    wrap.before(hint);
    const observer = new ResizeObserver(() => update(wrap, hint));
    observer.observe(wrap);
    const table = wrap.querySelector("table");
    if (table) observer.observe(table);
  }
}

/** Scroll `el` to the top of the view below the sticky banners (the break's, a prompt's). */
function scrollBelowBanners(el) {
  requestAnimationFrame(() => {
    const covered = [...document.querySelectorAll(".banner")]
      .filter((b) => !b.hidden && getComputedStyle(b).position === "sticky")
      .reduce((low, b) => Math.max(low, parseFloat(getComputedStyle(b).top) + b.offsetHeight), 0);
    el.style.scrollMarginTop = `${Math.ceil(covered) + 8}px`;
    el.scrollIntoView({ behavior: "smooth", block: "start" });
  });
}

/**
 * Stack the sticky cards: a prompt's card sticks below the break's banner (its --stack-top),
 * not at the same place over it (both were `top: 0.5rem`, and the card hid Start, End break and
 * Dismiss once the page scrolled). Follows the banner's size, and whether it shows and sticks
 * (on a phone a breathing break's banner is static).
 */
function stackBanners() {
  const banner = $("micro-break-banner");
  const style = getComputedStyle(banner);
  const sticky = !banner.hidden && style.position === "sticky";
  const top = sticky ? parseFloat(style.top) + banner.offsetHeight + 8 : 8;
  const value = `${Math.ceil(top)}px`;
  const card = $("prompt-card");
  if (card.style.getPropertyValue("--stack-top") !== value) card.style.setProperty("--stack-top", value);
}

$("reset-now").addEventListener("click", async () => {
  const why = await startReset();
  if (why) setConn(why);
});

/** The person's assessed resonance rate, if any: practice starts there (GET /baseline). */
async function loadResonance() {
  try {
    const b = await withAuth(() => api.get("/baseline"));
    state.personalResonance = typeof b.resonance_bpm === "number" ? b.resonance_bpm : null;
  } catch {
    state.personalResonance = undefined;
  }
  renderResonanceNote();
}

/**
 * Which rate practice and breaks use, and why: the person's own (GET /baseline, strap sessions
 * only), or, within a simulated or replayed session, that session's own assessment (the
 * service paces this session's practice and breaks at it, but never keeps it as the person's:
 * README "Whose numbers"). The Rate field follows when that rate changes.
 */
function renderResonanceNote() {
  const note = $("resonance-note");
  const mine = state.personalResonance;
  const v = state.assessmentStopped ? null : state.assessmentVerdict;
  const own = !personSession() && typeof v?.resonance_bpm === "number" ? v.resonance_bpm : null;
  let rate = null;
  if (own !== null) {
    rate = own;
    const yours =
      typeof mine === "number"
        ? `your own rate stays ${fmt(mine, 1)} breaths/min`
        : "new sessions use 6 breaths/min until an assessment on you finds yours";
    note.textContent =
      `This session's assessment found ${fmt(own, 1)} breaths/min for ${sessionSubject()}: practice and breaks in this session use it${clampNote(own)}. ` +
      `It is not kept as your resonance rate (only a strap session on you counts), so ${yours}.`;
  } else if (typeof mine === "number") {
    rate = mine;
    note.textContent = `Your resonance rate: ${fmt(mine, 1)} breaths/min (from your last assessment). Practice and breaks use it${clampNote(mine)}.`;
  } else if (mine === null) {
    rate = 6;
    note.textContent = "No resonance rate yet: practice uses 6 breaths/min until you find yours.";
  } else {
    note.textContent = "";
  }
  note.dataset.source = own !== null ? "session" : typeof mine === "number" ? "person" : mine === null ? "none" : "";
  if (rate !== null && rate !== state.rateFieldFrom) {
    state.rateFieldFrom = rate;
    // the rate practised (4.5-7/min, one decimal), so the Practice button sends what the
    // service would pace without a rate
    $("practice-rate").value = practiceRate(rate).toFixed(1);
  }
}

let lastStage = null;
// The person asked for less motion (prefers-reduced-motion): the circle stays still and a bar
// with the seconds left in the stage shows the breath (#pacer-still, shown by the stylesheet).
const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
const STAGE_INDEX = { inhale: 0, hold_after_inhale: 1, exhale: 2, hold_after_exhale: 3 };

/** The still pacer: the bar at the lung volume, the whole seconds left in the stage. */
function renderStillPacer(breath, pattern) {
  const fill = $("pacer-bar-fill");
  const seconds = $("pacer-seconds");
  if (!breath) {
    setStyle(fill, "width", "0px");
    if (seconds.textContent !== "") seconds.textContent = "";
    return;
  }
  setStyle(fill, "width", `${(breath.volume * 100).toFixed(1)}%`);
  const stageS = (fractions(pattern)[STAGE_INDEX[breath.stage]] * 60) / pattern.rate_bpm;
  const text = `${Math.max(1, Math.ceil(stageS * (1 - breath.progress)))} s`;
  if (seconds.textContent !== text) seconds.textContent = text;
}

/** The practice's remaining time (guidance.ends_at_s) as m:ss on the session clock. */
function renderCountdown(g, tS) {
  const box = $("break-countdown");
  if (!g || typeof g.ends_at_s !== "number" || tS === null) {
    if (!box.hidden) box.hidden = true;
    return;
  }
  // the page's clock never counts as earlier than the guidance it holds (it follows the beats
  // and can lag them under load: a 2-minute practice showed 2:01 left), and a float's rounding
  // error above a whole second is not a second more
  const now = typeof g.t_s === "number" ? Math.max(tS, g.t_s) : tS;
  const left = Math.max(0, Math.ceil(g.ends_at_s - now - 1e-6));
  const text = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")} left`;
  if (box.textContent !== text) box.textContent = text;
  setData(box, "remainingS", String(left));
  if (box.hidden) box.hidden = false;
}


/**
 * The pacer from the reference and the session clock: every animation frame while it moves
 * (pacerMoves), once when that changes. Nothing is written that is already there. The clock is
 * read at the frame's time (`frameMs`, requestAnimationFrame's timestamp), not when this code
 * happens to run: every frame then shows the breath at the moment it is painted for.
 */
function animatePacer(frameMs) {
  const g = state.guidance;
  const pacer = $("pacer");
  const circle = $("pacer-circle");
  const label = $("pacer-label");
  const tS = state.clock.at(frameMs);
  renderCountdown(g, tS);
  if (!g || !g.reference || tS === null) {
    lastStage = null;
    setData(pacer, "stage", "idle");
    setTransform(circle, "scale(0.45)");
    const idle = g ? "Waiting for beats" : "No pacing";
    if (label.textContent !== idle) label.textContent = idle; // a live region with cues on
    renderStillPacer(null);
    return;
  }
  const ref = g.reference;
  const phase = phaseAt(ref, tS);
  const pattern = ref.pattern || g.pattern;
  const breath = breathAt(phase, pattern);
  const scale = reducedMotion.matches ? 0.8 : 0.45 + 0.55 * breath.volume;
  setTransform(circle, `scale(${scale.toFixed(4)})`);
  setData(pacer, "motion", reducedMotion.matches ? "still" : "moving");
  if (reducedMotion.matches) renderStillPacer(breath, pattern);
  if (breath.stage !== lastStage && lastStage !== null) nudges.cue(breath.stage);
  lastStage = breath.stage;
  setData(pacer, "stage", breath.stage);
  pacer.dataset.volume = breath.volume.toFixed(4);
  pacer.dataset.phase = phase.toFixed(4); // cycles since the pacer started; 0 = inhale onset
  pacer.dataset.sessionT = tS.toFixed(3); // the page's estimate of the session time, s
  pacer.dataset.clockSamples = String(state.clock.samples); // the beats' times it has taken
  pacer.dataset.frameMs = frameMs.toFixed(3); // the frame drawn (requestAnimationFrame's time)
  if (label.textContent !== STAGE_LABELS[breath.stage]) label.textContent = STAGE_LABELS[breath.stage];
}

// ----------------------------------------------------------------------------- start form

const startForm = $("start-form");

function selectedKind() {
  return startForm.elements.kind.value;
}

startForm.addEventListener("change", (ev) => {
  if (ev.target.name !== "kind") return;
  for (const div of startForm.querySelectorAll(".kind-options")) div.hidden = div.dataset.kind !== selectedKind();
  if (selectedKind() === "replay") loadRecordings();
});

/** Fill the "uploaded before" list from GET /recordings. */
async function loadRecordings() {
  const select = $("recording-select");
  try {
    const data = await withAuth(() => api.get("/recordings"));
    select.replaceChildren(new Option("(upload a file)", ""));
    for (const r of data.recordings) {
      const beats = r.beats == null ? "" : `, ${r.beats} beats`;
      select.append(new Option(`${r.name}${beats}`, r.name));
    }
  } catch {
    // the list is a convenience; uploading still works
  }
}

/** The recording to replay: the chosen file uploaded now, else the one picked from the list. */
async function recordingToReplay(f) {
  const file = f.recording_file.files[0];
  if (file) {
    const form = new FormData();
    form.append("file", file, file.name);
    // units are never guessed: a file in seconds says so here (the service's 422 names the flag)
    if (f.recording_units.value) form.append("units", f.recording_units.value);
    if (f.recording_format.value) form.append("format", f.recording_format.value);
    const info = await withAuth(() => api.upload("/recordings", form));
    f.recording_file.value = "";
    // the upload is now one of the recordings: select it, so a retry does not upload again
    if (![...f.recording.options].some((o) => o.value === info.name)) f.recording.append(new Option(info.name, info.name));
    f.recording.value = info.name;
    return info.name;
  }
  if (f.recording.value) return f.recording.value;
  throw new Error("Choose a recording file to upload first.");
}

$("scan-button").addEventListener("click", async () => {
  const status = $("scan-status");
  const select = $("strap-select");
  status.textContent = "Scanning...";
  try {
    const data = await withAuth(() => api.get("/devices?scan_s=5"));
    const devices = data.devices || data;
    select.replaceChildren();
    for (const d of devices) {
      const rssi = d.rssi !== undefined && d.rssi !== null ? `, ${d.rssi} dBm` : "";
      select.append(new Option(`${d.name || "unnamed"} (${d.address}${rssi})`, d.address));
    }
    status.textContent = devices.length ? `${devices.length} strap(s) found` : "No strap found: is it worn and awake?";
  } catch (err) {
    status.textContent = err.status === 404 || err.status === 501 ? "Scanning is not available on this server." : err.message;
  }
});

function speedValue(raw) {
  const v = Number(raw);
  return Number.isFinite(v) && v > 0 ? v : 1;
}

startForm.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("start-error").textContent = "";
  const f = startForm.elements;
  const kind = selectedKind();
  // A session already running is easy to forget (a strap left on, a replay): say so once,
  // before anything is uploaded or started.
  const warning = $("start-warning");
  if (startForm.dataset.confirmed !== "true") {
    let running = [];
    try {
      running = (await withAuth(() => api.get("/sessions?limit=50"))).sessions.filter((s) => s.live);
    } catch {
      running = [];
    }
    if (running.length) {
      const what = running.map((s) => describeSource(s.source)).join(", ");
      warning.textContent =
        running.length === 1
          ? `A session is already running (${what}). Starting another runs both; press Start again to go ahead, or stop it first.`
          : `${running.length} sessions are already running (${what}). Starting another runs them all; press Start again to go ahead, or stop them first.`;
      warning.hidden = false;
      startForm.dataset.confirmed = "true";
      $("start-button").textContent = "Start anyway";
      return;
    }
  }
  let source;
  try {
    if (kind === "replay") {
      source = { kind, recording: await recordingToReplay(f), speed: speedValue(f.replay_speed.value) };
    } else if (kind === "simulator") {
      source = { kind, seed: Number(f.seed.value) || 0, resonance_bpm: Number(f.resonance_bpm.value) || undefined, speed: speedValue(f.sim_speed.value) };
    } else {
      source = { kind, address: f.address.value, stream: f.ble_stream.value, motion: f.ble_motion.checked };
    }
  } catch (err) {
    $("start-error").textContent = err.message;
    return;
  }
  warning.hidden = true;
  startForm.dataset.confirmed = "";
  $("start-button").textContent = "Start";
  try {
    const session = await withAuth(() => api.post("/sessions", { source, mode: f.mode.value }));
    await refreshSessionList(session.id);
    await attach(session.id);
    loadHistory();
  } catch (err) {
    $("start-error").textContent = err.message;
  }
});


$("session-select").addEventListener("change", (ev) => attach(ev.target.value));
$("session-stop").addEventListener("click", async () => {
  if (!state.session) return;
  try {
    await withAuth(() => api.post(`/sessions/${state.session.id}/stop`));
  } catch (err) {
    setConn(err.message);
  }
  await refreshSessionList();
  loadHistory();
});

// -------------------------------------------------------------------------------- check-in

// Words for each point of the check-in scales (the ends are the anchors shown in the legend).
const SCALE_WORDS = {
  stress: ["very relaxed", "relaxed", "neither relaxed nor stressed", "stressed", "very stressed"],
  energy: ["exhausted", "tired", "neither tired nor energetic", "energetic", "full of energy"],
};

function buildScale(id, key) {
  const holder = $(id).querySelector(".scale-buttons");
  for (let v = 1; v <= 5; v++) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = String(v);
    b.dataset.value = String(v);
    b.setAttribute("aria-pressed", "false");
    const words = SCALE_WORDS[key][v - 1];
    b.setAttribute("aria-label", `${key[0].toUpperCase()}${key.slice(1)} ${v} of 5: ${words}`);
    b.title = words;
    b.addEventListener("click", () => chooseCheckin(key, v));
    holder.append(b);
  }
}

// How long a confirmation ("Saved at ...") stays before it clears by itself.
const CONFIRM_MS = 8000;
let checkinConfirmTimer = null;

async function chooseCheckin(key, value) {
  state.checkin[key] = value;
  for (const b of $(`${key}-scale`).querySelectorAll("button")) {
    b.setAttribute("aria-pressed", String(Number(b.dataset.value) === value));
  }
  const { stress, energy } = state.checkin;
  const status = $("checkin-status");
  if (stress === null || energy === null) {
    status.textContent = stress === null ? "Now tap your stress." : "Now tap your energy.";
    return;
  }
  const body = { stress, energy };
  const note = $("checkin-note").value.trim();
  if (note) body.note = note;
  if (state.session?.live) body.session_id = state.session.id;
  let saved = null;
  try {
    saved = await withAuth(() => api.post("/checkins", body));
  } catch (err) {
    status.textContent = `Not saved: ${err.message}`;
  }
  if (saved) {
    // saved: nothing after this line may say otherwise (formatPlanTime never throws)
    $("checkin-note").value = "";
    status.dataset.checkinId = String(saved.id);
    const text = `Saved at ${workday.formatPlanTime(saved.at, { timeStyle: "medium" })}: stress ${saved.stress}, energy ${saved.energy}${saved.note ? ", with your note" : ""}.`;
    status.textContent = text;
    // a confirmation, read and done with: it clears by itself (the check-in is in History)
    clearTimeout(checkinConfirmTimer);
    checkinConfirmTimer = setTimeout(() => {
      if (status.textContent === text) status.textContent = "";
    }, CONFIRM_MS);
  }
  state.checkin = { stress: null, energy: null };
  setTimeout(() => {
    for (const b of $("check-in").querySelectorAll("button[aria-pressed]")) b.setAttribute("aria-pressed", "false");
  }, 1500);
}

// --------------------------------------------------------------------------------- history

/** A session's length on its own timeline (the last window's end), else by the wall clock. */
function duration(s) {
  const sessionS = s.summary?.duration_s ?? null;
  const wallS = s.ended_at ? Math.max(0, s.ended_at - s.created_at) : null;
  const sec = sessionS ?? wallS;
  if (sec === null) return "running";
  const text = sec < 90 ? `${Math.round(sec)} s` : `${Math.round(sec / 60)} min`;
  const speed = s.source?.speed;
  return typeof speed === "number" && speed !== 1 ? `${text} (at ${speed}x)` : text;
}

async function downloadCsv(sessionId, what) {
  const res = await fetch(`${api.API}/sessions/${sessionId}/${what}?format=csv`, {
    headers: { Authorization: `Bearer ${api.getToken()}` },
  });
  if (!res.ok) return;
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = `${sessionId}-${what}.csv`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/**
 * Open the session's HTML report (GET /sessions/{id}/report, built by the service) in a new
 * tab. The request needs the bearer token, so the page fetches it and shows it from a blob; the
 * tab is opened at the click so that no popup blocker stops it.
 */
async function openReport(sessionId, button) {
  const tab = window.open("", "_blank");
  const label = button.textContent;
  button.textContent = "building report...";
  button.disabled = true;
  try {
    const res = await fetch(`${api.API}/sessions/${sessionId}/report`, {
      headers: { Authorization: `Bearer ${api.getToken()}` },
    });
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      throw new Error(typeof body.detail === "string" ? body.detail : `HTTP ${res.status}`);
    }
    const url = URL.createObjectURL(new Blob([await res.text()], { type: "text/html" }));
    if (tab) tab.location.href = url;
    else window.location.assign(url);
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (err) {
    if (tab) tab.close();
    setConn(`Report not available: ${err.message}`);
  } finally {
    button.textContent = label;
    button.disabled = false;
  }
}

const STRESS_WORDS = ["very relaxed", "relaxed", "neither", "stressed", "very stressed"];
const ENERGY_WORDS = ["exhausted", "tired", "neither", "energetic", "full of energy"];

function para(text, className) {
  const p = document.createElement("p");
  p.textContent = text;
  if (className) p.className = className;
  return p;
}

function section(title, items) {
  const box = document.createElement("section");
  const h = document.createElement("h3");
  h.textContent = title;
  box.append(h, ...items);
  return box;
}

/**
 * The personal summary of a session, for the person (not a researcher): what you did, your
 * heart in numbers you can compare, breaks and what they did, your check-ins. The researcher's
 * report (every metric, spectra, plots) is one button away.
 */
async function openSummary(s) {
  const dialog = $("summary-dialog");
  const body = $("summary-body");
  const started = new Date(s.created_at * 1000);
  $("summary-title").textContent = s.label || `Your session of ${started.toLocaleString([], { dateStyle: "medium", timeStyle: "short" })}`;
  body.replaceChildren(para("Loading..."));
  if (!dialog.open) dialog.showModal();
  const q = encodeURIComponent(s.id);
  const [breaks, checkins, assessments] = await Promise.all([
    withAuth(() => api.get(`/microbreaks/history?session_id=${q}`)).catch(() => ({ events: [] })),
    withAuth(() => api.get(`/checkins?session_id=${q}`)).catch(() => ({ checkins: [] })),
    withAuth(() => api.get(`/sessions/${s.id}/breathing/assessments`)).catch(() => ({ results: [] })),
  ]);
  const sum = s.summary || {};
  const did = [
    para(`${started.toLocaleString([], { dateStyle: "full", timeStyle: "short" })}: ${MODE_WORDS[s.mode] || s.mode} with a ${describeSource(s.source)}, ${duration(s)}.`),
  ];
  if (typeof sum.mean_hr_bpm === "number") {
    did.push(para(`Heart rate ${fmt(sum.mean_hr_bpm, 0)} beats/min on average; heart-rate variability (RMSSD) ${fmt(sum.mean_rmssd_ms, 0)} ms on average (higher usually means more relaxed).`));
  }
  const verdict = (assessments.results || []).map((r) => r.data || r).find((e) => e.type === "assessment_complete");
  if (verdict?.result?.resonance_bpm) {
    did.push(para(`Your resonance breathing rate: ${fmt(verdict.result.resonance_bpm, 1)} breaths/min.`));
  }
  const events = [...(breaks.events || [])].reverse(); // oldest first
  const breakItems = [];
  for (const e of events) {
    const when = new Date(e.recorded_at * 1000).toLocaleTimeString([], { timeStyle: "short" });
    if (e.event === "micro_break") {
      breakItems.push(para(`${when}: a break was suggested. ${e.data.reason?.summary || ""}`));
    } else if (e.event === "break_effect") {
      const d = e.data;
      breakItems.push(para(`${when}: a ${d.kind || ""} break. ${microBreaks.summaryText(d)}`));
    }
  }
  const checkItems = (checkins.checkins || []).map((c) => {
    const when = new Date(c.at * 1000).toLocaleTimeString([], { timeStyle: "short" });
    const note = c.note ? ` "${c.note}"` : "";
    return para(`${when}: stress ${c.stress} (${STRESS_WORDS[c.stress - 1]}), energy ${c.energy} (${ENERGY_WORDS[c.energy - 1]}).${note}`);
  });
  body.replaceChildren(
    section("What you did", did),
    section("Breaks", breakItems.length ? breakItems : [para("No breaks in this session.", "hint")]),
    section("Check-ins", checkItems.length ? checkItems : [para("No check-ins in this session.", "hint")]),
    ...(await dayAndWeek(started)),
  );
  const research = $("summary-research");
  research.onclick = () => openReport(s.id, research);
}

/**
 * The personal dashboard (GET /dashboard, issue 16) for the session's day and the last week:
 * self-report beside the wearable, and whether breaks helped, as words and a bar chart.
 */
async function dayAndWeek(started) {
  let dash;
  try {
    dash = await withAuth(() => api.get("/dashboard"));
  } catch {
    return []; // an older service: the summary has no dashboard part
  }
  let dayKey;
  try {
    dayKey = new Intl.DateTimeFormat("en-CA", { timeZone: dash.timezone || undefined }).format(started);
  } catch {
    dayKey = new Intl.DateTimeFormat("en-CA").format(started); // a zone this browser does not know
  }
  const day = (dash.days || []).find((d) => d.day === dayKey);
  const items = [];
  if (day) {
    if (day.n_checkins) {
      items.push(para(`Check-ins that day: stress ${fmt(day.mean_stress, 1)}, energy ${fmt(day.mean_energy, 1)} on average (${day.n_checkins}).`));
    }
    items.push(
      para(
        typeof day.resting_rmssd_ms === "number"
          ? `Resting heart-rate variability that day: ${fmt(day.resting_rmssd_ms, 0)} ms (first calm minutes of your first strap session).`
          : "No resting measurement that day (it needs a strap session).",
      ),
    );
    const effects = (day.breaks || []).filter((b) => typeof b.rmssd_change_pct === "number");
    if (effects.length) {
      const mean = effects.reduce((a, b) => a + b.rmssd_change_pct, 0) / effects.length;
      items.push(para(`Breaks that day: ${effects.length}, heart-rate variability ${mean >= 0 ? "+" : ""}${fmt(mean, 0)} % after them on average.`));
    }
  } else {
    items.push(para("Nothing else recorded that day.", "hint"));
  }
  const week = (dash.week || []).filter((w) => w.n > 0);
  const weekItems = [];
  if (week.length) {
    for (const w of week) {
      weekItems.push(para(`${w.kind} breaks: ${w.n}, heart-rate variability ${w.mean_rmssd_change_pct >= 0 ? "+" : ""}${fmt(w.mean_rmssd_change_pct, 0)} % on average.`));
    }
    const canvas = document.createElement("canvas");
    canvas.className = "chart-canvas summary-chart";
    canvas.id = "summary-week-chart";
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", "Mean change of heart-rate variability after each kind of break, last 7 days");
    weekItems.push(canvas);
    requestAnimationFrame(() =>
      barChart(
        canvas,
        week.map((w) => ({ label: `${w.kind} (${w.n})`, value: w.mean_rmssd_change_pct, highlight: false })),
        { yLabel: "RMSSD change (%)" },
      ),
    );
  } else {
    weekItems.push(para("No breaks with a measured effect in the last 7 days.", "hint"));
  }
  return [section("Your day", items), section("Did my breaks help? (last 7 days)", weekItems)];
}

const HISTORY_DETAIL = 20;
const HISTORY_REFRESH_MS = 60_000; // summaries are computed for the newest 20 sessions

/** Summaries of sessions from an older service without `summary`: from their metrics. */
async function summaryFromMetrics(s) {
  try {
    const m = await api.get(`/sessions/${s.id}/metrics`);
    const rmssd = m.metrics.map((w) => w.rmssd_ms).filter((v) => typeof v === "number");
    const hr = m.metrics.map((w) => w.mean_hr_bpm).filter((v) => typeof v === "number");
    const mean = (v) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : null);
    return {
      duration_s: m.metrics.length ? m.metrics[m.metrics.length - 1].t_s : null,
      n_windows: m.metrics.length,
      mean_rmssd_ms: mean(rmssd),
      mean_hr_bpm: mean(hr),
      n_micro_breaks: null,
      n_breaks: null,
      n_checkins: null,
    };
  } catch {
    return null;
  }
}

function historyRow(s) {
  const tr = document.createElement("tr");
  tr.dataset.sessionId = s.id;
  const sum = s.summary;
  const cells = [
    new Date(s.created_at * 1000).toLocaleString([], { dateStyle: "short", timeStyle: "short" }),
    MODE_WORDS[s.mode] || s.mode,
    describeSource(s.source),
    duration(s),
    typeof sum?.mean_rmssd_ms === "number" ? `${fmt(sum.mean_rmssd_ms, 0)} ms` : "-",
    typeof sum?.mean_hr_bpm === "number" ? `${fmt(sum.mean_hr_bpm, 0)} bpm` : "-",
    sum?.n_breaks ?? "-", // breaks taken, as the column says (n_micro_breaks counts flags)
    sum?.n_checkins ?? "-",
    s.state,
  ];
  for (const text of cells) {
    const td = document.createElement("td");
    td.textContent = String(text);
    tr.append(td);
  }
  const labelCell = document.createElement("td");
  const labelInput = document.createElement("input");
  labelInput.type = "text";
  labelInput.maxLength = 200;
  labelInput.value = s.label || "";
  labelInput.placeholder = "add a label";
  labelInput.className = "label-input";
  labelInput.setAttribute("aria-label", `Label of the session started ${cells[0]}`);
  // A row redrawn by a history load that was on its way during the save still says "saved".
  const save = labelSaves.get(s.id);
  if (save && save.at !== null && save.label === labelInput.value) labelInput.dataset.saved = "true";
  labelInput.addEventListener("change", () => saveLabel(s.id, labelInput.value));
  labelCell.append(labelInput);
  tr.append(labelCell);
  const td = document.createElement("td");
  if (s.n_beats > 0) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "link-button";
    b.textContent = "summary";
    b.setAttribute("aria-label", `summary of the session started ${cells[0]}`);
    b.addEventListener("click", () => openSummary(s));
    td.append(b);
  }
  for (const what of ["beats", "metrics"]) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "link-button";
    b.textContent = what;
    b.setAttribute("aria-label", `${what} of the session as CSV`);
    b.addEventListener("click", () => downloadCsv(s.id, what));
    td.append(b);
  }
  tr.append(td);
  return tr;
}

/**
 * Labels saved from the table: they outrank a history load that was asked for before the save's
 * answer (its `at`; null while the save is on its way), whose rows still carry the old label.
 * `labelSaves` holds the newest save of each session, on its way or confirmed; `labelsConfirmed`
 * the newest the service confirmed, which is what a failed save falls back to (never another
 * save still on its way, whose `at` a failure would leave null for good).
 */
const labelSaves = new Map(); // session id -> { label, at: performance.now() of the answer, n }
const labelsConfirmed = new Map(); // session id -> the newest confirmed of its saves
let labelSavesSent = 0; // numbers the saves (n) in the order they were sent
const drawnSessions = new Map(); // session id -> the session object its history row shows
let historyLoads = 0;

/** The label input of session `id`'s history row as drawn now (a redraw replaces it). */
function labelInputOf(id) {
  return [...$("history-table").querySelectorAll("tr[data-session-id]")]
    .find((tr) => tr.dataset.sessionId === id)
    ?.querySelector("input.label-input");
}

/**
 * PATCH the label of session `id`. A history load may redraw the row while the save is on its
 * way: the row then shows the label being saved (loadHistory), and the answer marks whatever
 * input the row has by then, not only the one the person typed in.
 */
async function saveLabel(id, label) {
  const mine = { label, at: null, n: ++labelSavesSent };
  labelSaves.set(id, mine);
  const typed = labelInputOf(id);
  if (typed) delete typed.dataset.saved; // saved again: the mark waits for this answer
  try {
    const saved = await withAuth(() => api.patch(`/sessions/${id}`, { label }));
    mine.label = saved.label;
    mine.at = performance.now();
    const older = (entry) => !entry || (entry.at !== null && entry.n < mine.n);
    if (older(labelsConfirmed.get(id))) labelsConfirmed.set(id, mine);
    // a later save failed meanwhile (and fell back to an older label, or to none): this one
    // is what the service holds
    if (older(labelSaves.get(id))) labelSaves.set(id, mine);
    if (labelSaves.get(id) !== mine) return; // a later save of this label is on its way
    const s = drawnSessions.get(id);
    if (s) s.label = saved.label; // the row's summary is titled by it
    const input = labelInputOf(id);
    if (input && (input.value === label || input.value === saved.label)) {
      input.value = saved.label;
      input.dataset.saved = "true";
    }
  } catch (err) {
    if (labelSaves.get(id) === mine) {
      const confirmed = labelsConfirmed.get(id);
      if (confirmed) labelSaves.set(id, confirmed);
      else labelSaves.delete(id);
    }
    setConn(`Label not saved: ${err.message}`);
  }
}

/**
 * Put the history's `rows` into `tbody`. The row whose label the person is typing in (its input
 * has the focus) stays in the table, input and all, and only its other cells are replaced: a
 * redraw (the minutely refresh, the load after a session ends) must not take the words or the
 * focus away, nor the edit Enter would save.
 */
function placeHistoryRows(tbody, rows) {
  const active = document.activeElement;
  const editing = active?.classList?.contains("label-input") && tbody.contains(active) ? active.closest("tr") : null;
  const i = editing ? rows.findIndex((tr) => tr.dataset.sessionId === editing.dataset.sessionId) : -1;
  if (i < 0) {
    tbody.replaceChildren(...rows);
    return;
  }
  const keep = active.closest("td");
  const fresh = [...rows[i].children];
  [...editing.children].forEach((td, k) => {
    if (td !== keep && fresh[k]) td.replaceWith(fresh[k]);
  });
  rows[i] = editing;
  // every other row out, then the new ones around the one kept (it is never moved: a moved
  // input loses the focus)
  for (const tr of [...tbody.children]) if (tr !== editing) tr.remove();
  for (const tr of rows.slice(0, i)) tbody.insertBefore(tr, editing);
  tbody.append(...rows.slice(i + 1));
}

async function loadHistory() {
  const load = ++historyLoads;
  const began = performance.now();
  let data;
  try {
    data = await withAuth(() => api.get("/sessions?limit=100"));
  } catch {
    return;
  }
  const missing = data.sessions.slice(0, HISTORY_DETAIL).filter((s) => s.summary === undefined);
  await Promise.all(
    missing.map(async (s) => {
      s.summary = await summaryFromMetrics(s);
    }),
  );
  if (load !== historyLoads) return; // a later load is on its way (the session ended, Refresh)
  for (const s of data.sessions) {
    const saved = labelSaves.get(s.id);
    if (saved && (saved.at === null || saved.at > began)) s.label = saved.label;
  }
  drawnSessions.clear();
  for (const s of data.sessions) drawnSessions.set(s.id, s);
  placeHistoryRows($("history-table").querySelector("tbody"), data.sessions.map(historyRow));
  loadBreakHistory();
  loadTrend();
  loadBaseline();
}

/** Resting RMSSD per day: the service's daily medians of strap sessions (a real person). */
async function loadTrend() {
  let series = [];
  try {
    series = (await api.get("/trends/daily?days=60")).series;
  } catch {
    // not available on this server: the chart says there is nothing yet
  }
  const points = series
    .filter((d) => typeof d.median_rmssd_ms === "number")
    .map((d) => ({ x: Date.parse(d.day) / 86400000, y: d.median_rmssd_ms }));
  $("trend-chart").classList.toggle("chart-empty", points.length < 2);
  // One tick per day with data (at most 8 labelled), half a day of room on each side.
  const every = Math.max(1, Math.ceil(points.length / 8));
  lineChart($("trend-chart"), points, {
    dots: true,
    xLo: points.length ? points[0].x - 0.5 : undefined,
    xHi: points.length ? points[points.length - 1].x + 0.5 : undefined,
    xTicks: points.filter((_, i) => i % every === 0).map((p) => p.x),
    yLabel: "RMSSD (ms)",
    xFormat: (v) => new Date(v * 86400000).toISOString().slice(5, 10),
    empty:
      points.length === 1
        ? `today: ${fmt(points[0].y, 0)} ms (a trend needs 2 days)`
        : "no strap sessions yet (simulations and replays are not counted)",
  });
}

async function loadBaseline() {
  const el = $("baseline-summary");
  try {
    const b = await api.get("/baseline");
    const parts = [];
    if (b.personal) {
      parts.push(
        `Personal baseline: RMSSD about ${fmt(Math.exp(b.personal.ln_rmssd_mean), 0)} ms, heart rate ${fmt(b.personal.hr_mean_bpm, 0)} bpm (learned at rest from strap sessions).`,
      );
    }
    const w = b.windows;
    const r = w?.metrics?.rmssd_ms;
    if (r) {
      parts.push(
        `Last ${w.days} days: median RMSSD ${fmt(r.median, 0)} ms (middle half ${fmt(r.p25, 0)}-${fmt(r.p75, 0)} ms) over ${w.n_windows} windows of ${w.n_sessions} session${w.n_sessions === 1 ? "" : "s"}.`,
      );
    }
    el.textContent = parts.length ? parts.join(" ") : "Your baseline appears after a few minutes of recording with a strap (simulations and replays are not counted).";
  } catch {
    el.textContent = "";
  }
}

/** One line of the micro-break history: a flag with its reason, or a break with its effect. */
function breakHistoryItem(e) {
  let text = null;
  if (e.event === "micro_break") {
    text = `Break suggested: ${e.data.reason?.summary || e.data.reason?.text || e.data.reason?.code || ""}`;
  } else if (e.event === "break_effect") {
    text = `${e.data.kind || ""} break: ${microBreaks.effectText(e.data)}`;
  }
  if (text === null) return null;
  const li = document.createElement("li");
  li.dataset.event = e.event;
  const when = document.createElement("span");
  when.className = "when";
  when.textContent = new Date(e.recorded_at * 1000).toLocaleString();
  li.append(when, text);
  return li;
}

// Flags and effects that came on the live socket (the newest 20), with when they came: a
// history read asked for before one was stored must not drop it from the list (loadBreakHistory).
const liveBreakEvents = []; // { e: a history item, at: performance.now() }
let breakHistoryLoads = 0;

/** The same stored event, from the history or from the live socket. */
function breakEventKey(e) {
  return `${e.session_id}|${e.event}|${e.t_s}`;
}

/** Flags with their reasons, and breaks with their effect on RMSSD, newest first. */
async function loadBreakHistory() {
  const load = ++breakHistoryLoads;
  const began = performance.now();
  let data;
  try {
    data = await api.get("/microbreaks/history?limit=200");
  } catch {
    return; // not available on this server
  }
  if (load !== breakHistoryLoads) return; // a later read is on its way
  // events the socket brought since this read was asked for, and the read does not have yet
  const stored = new Set(data.events.map(breakEventKey));
  const late = liveBreakEvents
    .filter((x) => x.at > began && !stored.has(breakEventKey(x.e)))
    .map((x) => x.e)
    .reverse();
  const items = [];
  for (const e of [...late, ...data.events]) {
    const li = breakHistoryItem(e);
    if (li === null) continue;
    items.push(li);
    if (items.length >= 20) break;
  }
  if (items.length) $("break-history").replaceChildren(...items);
}

$("history-refresh").addEventListener("click", loadHistory);

// ------------------------------------------------------------------------------ main loop

// The page asks for animation frames only while something on it changes from frame to frame:
// the pacer while it paces (with the session clock running: the circle or the still pacer's
// bar, the stage, the countdown), and the charts once they are marked dirty (at most every
// CHART_MIN_MS: a timer waits out the rest, not a frame loop). An idle page (no session, or
// a session without pacing between beats) runs no frames at all: it is open all working day
// on laptops. Whatever changes what the pacer or the charts show calls wakeFrames
// (markChartsDirty, observeClock, renderGuidanceInfo, detach, resize, reduced motion,
// visibility); the loop stops by itself. A hidden tab gets no frames (the browser holds them).
const CHART_MIN_MS = 500; // the tachogram redraws at most twice a second
let frameAsked = false;
let chartTimer = null;

/** Whether the pacer moves: pacing, with the session clock running. */
function pacerMoves() {
  return Boolean(state.guidance) && state.clock.at() !== null;
}

/** One animation frame (the loop goes on from there while something moves). */
function wakeFrames() {
  if (frameAsked) return;
  frameAsked = true;
  requestAnimationFrame(frameLoop);
}

/** The charts need drawing anew (new beats, results, a resize): a frame, or the throttle's timer. */
function markChartsDirty() {
  state.chartsDirty = true;
  if (!chartTimer) wakeFrames();
}

/** A message said the session is at `tS`: the clock follows; a pacer waiting for it moves. */
function observeClock(tS) {
  state.clock.observe(tS);
  if (state.guidance) wakeFrames();
}

function frameLoop(now) {
  frameAsked = false;
  animatePacer(now);
  if (state.chartsDirty && now - state.lastChartDraw > CHART_MIN_MS) {
    state.chartsDirty = false;
    state.lastChartDraw = now;
    const beats = state.beats;
    $("tachogram").dataset.beatIdx = beats.map((b) => b.idx).join(","); // for tests and tools
    lineChart(
      $("tachogram"),
      beats.map((b) => ({ x: b.t_s, y: b.rr_ms, breakBefore: b.gap_before, flag: b.contact === false })),
      {
        yLabel: "RR (ms)",
        xLabel: "session time (m:ss)",
        xFormat: clockLabel,
        xTicks: timeTicks,
        empty: state.session || attaching ? "waiting for beats" : "no session: start one or pick a running one above",
      },
    );
    if (!$("assessment").hidden) {
      drawAssessment();
      renderAssessmentTable();
    }
  }
  if (pacerMoves()) {
    wakeFrames();
  } else if (state.chartsDirty && !chartTimer) {
    // drawn less than CHART_MIN_MS ago: one frame when that time is up
    const wait = Math.max(0, CHART_MIN_MS - (now - state.lastChartDraw)) + 1;
    chartTimer = setTimeout(() => {
      chartTimer = null;
      wakeFrames();
    }, wait);
  }
}

async function start() {
  try {
    const { want } = await refreshSessionList();
    await attach(want);
    loadResonance();
  } catch (err) {
    if (err?.unreachable) return; // serviceLost said so; serviceBack starts the page
    if (!(err instanceof api.ApiError && err.status === 401)) setConn(`Cannot reach the service: ${err.message}`);
    return;
  }
  loadHistory();
  workday.refresh();
  sharing.refresh();
}

function init() {
  nudges.init();
  prompts.init({ onError: setConn, startReset });
  workday.init();
  sharing.init();
  scrollableTables();
  buildScale("stress-scale", "stress");
  buildScale("energy-scale", "energy");
  microBreaks.init({
    withAuth,
    onError: setConn,
    // A breathing break paces (the service, at the person's practice rate or 6/min, for the
    // break's duration) unless pacing already: show the pacer.
    isPacing: () => Boolean(state.guidance),
    onBreathingBreak: () => {
      $("breathing").scrollIntoView({ behavior: "smooth", block: "center" });
    },
  });
  wakeFrames();
  reducedMotion.addEventListener("change", wakeFrames);
  document.addEventListener("visibilitychange", wakeFrames);
  setInterval(() => {
    if (!api.getToken() || document.visibilityState !== "visible") return;
    loadHistory();
    // Sessions started elsewhere (the command line, another tab) appear in the list.
    refreshSessionList().then(({ want }) => {
      if (!state.session && !attaching && want) attach(want);
    }, () => {});
  }, HISTORY_REFRESH_MS);
  window.addEventListener("resize", () => {
    markChartsDirty();
    stackBanners();
  });
  new ResizeObserver(stackBanners).observe($("micro-break-banner"));
  new MutationObserver(stackBanners).observe(document.body, { attributes: true, attributeFilter: ["class", "data-break-kind"] });
  new MutationObserver(stackBanners).observe($("micro-break-banner"), { attributes: true, attributeFilter: ["hidden", "data-phase"] });
  stackBanners();
  if (!api.adoptTokenFromUrl()) {
    askToken();
    return;
  }
  start();
}

init();
