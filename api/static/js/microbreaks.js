// Micro-breaks: the banner when one is due (reason + suggested intervention), starting and
// ending the break from it, and afterwards the break's effect (RMSSD before/after).
//
// Live `micro_break` messages carry `event` and the monitor's event as `micro_break`
// (breathing.microbreak: MicroBreakDue, BreakStarted, BreakEnded, BreakEffect, ...).

import * as api from "./api.js";

const $ = (id) => document.getElementById(id);

let session = null;
let ctx = { withAuth: (fn) => fn(), onError: () => {} };
let current = null; // the flag shown (MicroBreakDue as plain JSON)
let inBreak = false;
// the running break's kind (breathing, screen, walk), null when none runs or not known
let breakKind = null;
// The live message number (seq) the banner is as of: a live micro-break message or a state
// read numbered at or below it is older than what is shown and is not applied.
let shownSeq = -Infinity;
// The person's actions so far, and those not yet answered: a state read answered after one
// was asked may be older than its result (or the action failed and changed nothing), so the
// state is read again once they have settled.
let clicks = 0;
const unsettled = new Set();
// The person closed the "measuring" banner (page-only): a state read still measuring that
// break does not bring it back; the next break event shows as usual.
let closedMeasuring = false;

const SNOOZE_MIN = 10;

function base() {
  return `/sessions/${session.id}/microbreaks`;
}

function fmtMs(v) {
  return typeof v === "number" ? `${Math.round(v)} ms` : "-";
}

/** Whether a period's figures are missing because every window of it was paced. */
function pacedOut(effect, period) {
  return typeof effect[`rmssd_${period}_ms`] !== "number" && (effect[`n_windows_${period}_paced`] || 0) > 0;
}

/**
 * What a break's "before" was, when paced breathing was near it: the service leaves windows
 * overlapping paced breathing out of "before" (`n_windows_before_paced`; paced breathing raises
 * RMSSD by itself, so it is no rest to compare with). "" when none was left out. The pacing may
 * have come before or after the unpaced minutes kept (a practice started shortly before the
 * break), so the note does not say which.
 */
export function pacedBeforeNote(effect) {
  const paced = effect?.n_windows_before_paced || 0;
  if (!paced) return "";
  return typeof effect.rmssd_before_ms === "number"
    ? " Paced minutes left out of before, since paced breathing can raise RMSSD by itself."
    : " No rest before it to compare with: the minutes before were paced breathing, which can raise RMSSD by itself.";
}

/**
 * The same for "after": windows in which pacing ran after the break ended (a practice or an
 * assessment started right after it, `n_windows_after_paced`) are left out, so the break is not
 * credited with the pacing's RMSSD. A breathing break's own pacing is its "during". "" when none.
 */
export function pacedAfterNote(effect) {
  const paced = effect?.n_windows_after_paced || 0;
  if (!paced) return "";
  return typeof effect.rmssd_after_ms === "number"
    ? " Paced minutes left out of after, since paced breathing can raise RMSSD by itself."
    : " Nothing to compare after it: the minutes after it were paced breathing, which can raise RMSSD by itself.";
}

function changeText(effect) {
  return typeof effect.rmssd_change_pct === "number"
    ? ` (${effect.rmssd_change_pct >= 0 ? "+" : ""}${effect.rmssd_change_pct.toFixed(0)} %)`
    : "";
}

/**
 * A break's effect in words: RMSSD before and after with the change; a period whose every
 * window was paced is not named (no rest to compare with), and the notes say what was left out.
 */
export function effectText(effect) {
  const parts = [];
  if (!pacedOut(effect, "before")) parts.push(`before ${fmtMs(effect.rmssd_before_ms)}`);
  if (!pacedOut(effect, "after")) parts.push(`after ${fmtMs(effect.rmssd_after_ms)}`);
  const numbers = parts.length ? `RMSSD ${parts.join(", ")}${changeText(effect)}.` : "";
  return (numbers + pacedBeforeNote(effect) + pacedAfterNote(effect)).trim();
}

/** The same for the session summary, in plainer words ("heart-rate variability"). */
export function summaryText(effect) {
  const ms = (v) => (typeof v === "number" ? `${Math.round(v)} ms` : "- ms");
  const before = !pacedOut(effect, "before");
  const after = !pacedOut(effect, "after");
  let hrv = "";
  if (before && after) {
    hrv = `Your heart-rate variability went from ${ms(effect.rmssd_before_ms)} before to ${ms(effect.rmssd_after_ms)} after${changeText(effect)}.`;
  } else if (after) {
    hrv = `Your heart-rate variability after it: ${ms(effect.rmssd_after_ms)}.`;
  } else if (before) {
    hrv = `Your heart-rate variability before it: ${ms(effect.rmssd_before_ms)}.`;
  }
  return (hrv + pacedBeforeNote(effect) + pacedAfterNote(effect)).trim();
}

function show({ title, reason, details, suggestion, effect, phase }) {
  const banner = $("micro-break-banner");
  $("mb-title").textContent = title;
  $("mb-reason").textContent = reason || "";
  // the numbers behind the plain sentence, one click away (a <details> element)
  $("mb-details").hidden = !details;
  $("mb-details-text").textContent = details || "";
  $("mb-suggestion").textContent = suggestion || "";
  $("mb-effect").hidden = !effect;
  $("mb-effect").textContent = effect || "";
  $("mb-start").hidden = phase !== "due";
  $("mb-snooze").hidden = phase !== "due";
  $("mb-end").hidden = phase !== "break";
  $("mb-dismiss").textContent = phase === "effect" ? "Close" : "Dismiss";
  $("mb-dismiss").hidden = phase === "break";
  banner.dataset.phase = phase;
  banner.hidden = false;
  document.body.classList.toggle("in-break", phase === "break");
  setKind(phase === "break" ? breakKind : null);
}

/** The running break's kind on the page (body data-break-kind): a phone puts the pacer first
 * only for a breathing break; a walk or screen break keeps its suggestion. */
function setKind(kind) {
  if (kind) document.body.dataset.breakKind = kind;
  else delete document.body.dataset.breakKind;
}

function hide() {
  $("micro-break-banner").hidden = true;
  $("micro-break-banner").dataset.phase = "";
  document.body.classList.remove("in-break");
  setKind(null);
}

function suggestionText(s) {
  if (!s) return "";
  return `Suggested: ${s.text}`;
}

function showDue(flag) {
  current = flag;
  inBreak = false;
  show({
    title: "Time for a short break",
    reason: flag.reason?.summary || flag.reason?.code || "",
    details: flag.reason?.details || "",
    suggestion: suggestionText(flag.suggestion),
    phase: "due",
  });
}

function showEffect(effect) {
  if (inBreak) {
    // An earlier break's effect arriving while a later break runs: that break's banner (its
    // End break) stays; the earlier effect is a line in it.
    $("mb-effect").textContent = `Your earlier break's effect: ${effectText(effect)}`;
    $("mb-effect").hidden = false;
    return;
  }
  show({
    title: "Your break's effect",
    reason: "",
    suggestion: "",
    effect: effectText(effect),
    phase: "effect",
  });
}

export function onMessage(msg) {
  if (typeof msg.seq === "number") {
    // a live message older than the state shown (one held for its write while a read of the
    // state, which already has it, was answered)
    if (msg.seq <= shownSeq) return;
    shownSeq = msg.seq;
  }
  const data = msg.micro_break || {};
  const kind = data.type || msg.event;
  if (kind !== "break_effect") closedMeasuring = false;
  if (kind === "micro_break" || msg.event === "flag" || msg.event === "due") {
    showDue(data);
  } else if (kind === "break_started") {
    inBreak = true;
    breakKind = data.kind || current?.suggestion?.kind || null;
    show({
      title: "Break in progress",
      reason: current?.reason?.summary || "",
      details: current?.reason?.details || "",
      suggestion: suggestionText(current?.suggestion),
      phase: "break",
    });
  } else if (kind === "break_ended") {
    inBreak = false;
    breakKind = null;
    show({ title: "Break over", reason: "Measuring its effect over the next 2 minutes...", phase: "measuring" });
  } else if (kind === "break_effect") {
    showEffect(data);
  } else if (kind === "micro_break_acknowledged" || kind === "micro_break_snoozed") {
    if (!inBreak) hide();
  }
}

async function action(path, body) {
  if (!session) return null;
  clicks++;
  const request = ctx.withAuth(() => api.post(`${base()}/${path}`, body));
  unsettled.add(request);
  try {
    return await request;
  } catch (err) {
    ctx.onError(`Micro-break: ${err.message}`);
    return null;
  } finally {
    unsettled.delete(request);
  }
}

export function init(context) {
  ctx = context;
  $("mb-start").addEventListener("click", async () => {
    const kind = current?.suggestion?.kind || "breathing";
    // A breathing break paces for the suggestion's 2 minutes and its pacer stops with the
    // break (the service starts and stops it, as for the reset): pacing left running after
    // it would make the minutes after it paced, neither learned nor flagged. A practice
    // already running goes on as it is.
    const body =
      kind === "breathing" && !ctx.isPacing?.()
        ? { kind, duration_s: current?.suggestion?.duration_s || 120 }
        : { kind };
    if (await action("start", body)) {
      onMessage({ micro_break: { type: "break_started", kind } });
      if (kind === "breathing") ctx.onBreathingBreak?.();
    }
  });
  $("mb-end").addEventListener("click", () => endBreak());
  $("mb-snooze").addEventListener("click", async () => {
    if (await action("snooze", { minutes: SNOOZE_MIN })) hide();
  });
  $("mb-dismiss").addEventListener("click", async () => {
    const phase = $("micro-break-banner").dataset.phase;
    if (phase === "due") await action("acknowledge");
    else if (phase === "measuring") closedMeasuring = true;
    hide();
  });
}

/** End the running break (End break; Stop pacing during a breathing break). Resolves to
 * whether the service ended it. */
export async function endBreak() {
  if (!(await action("end"))) return false;
  onMessage({ micro_break: { type: "break_ended" } });
  return true;
}

/**
 * Whether the running break owns the pacer (the service's break_paces: a timed breathing break
 * that started the pacing), read from the service now: a practice or an assessment pacing
 * beside the break is not the break's, and stopping it leaves the break running.
 */
export async function breakOwnsPacer() {
  if (!session || !inBreak) return false;
  try {
    const st = await api.get(`${base()}`);
    return st.banner === "break" && st.break_paces === true;
  } catch {
    return false; // the Stop pacing that asked still stops the pacer
  }
}

/** The running break's kind (breathing, screen, walk), or null when none runs. */
export function runningBreakKind() {
  return inBreak ? breakKind : null;
}

export async function attach(s) {
  session = s;
  current = null;
  inBreak = false;
  breakKind = null;
  shownSeq = -Infinity;
  closedMeasuring = false;
  hide();
  await readState(s);
}

/**
 * The live socket delivers from now on (its first message came): read the state again, so a
 * flag or break of the time between attach's read and the socket's subscription (a break
 * started meanwhile, or during a reconnect's outage) shows its banner.
 */
export async function catchUp() {
  if (session) await readState(session);
}

/**
 * Where the session is, from the service's memory (GET /sessions/{id}/microbreaks): a flag
 * raised before this page connected, a break running. Memory, not the written history: an
 * event made a moment ago is there before its write is committed.
 */
async function readState(s, again = true) {
  if (!s.live) return;
  const clicked = clicks;
  try {
    const st = await api.get(`/sessions/${encodeURIComponent(s.id)}/microbreaks`);
    if (session !== s) return; // another session attached meanwhile
    if (clicks !== clicked && again) {
      // An action was asked meanwhile: this read may be older than its result, or the action
      // failed (a stale End break answered 409) and the page is still as stale as it was. Read
      // again once every action has settled (dropping the read left a stale banner until the
      // next micro-break message). A later read is not dropped for a click: the live message
      // of an action that succeeded is numbered above it.
      await Promise.allSettled([...unsettled]);
      await readState(s, false);
      return;
    }
    // a live message newer than this read is shown already
    if (st.seq < shownSeq) return;
    shownSeq = st.seq;
    if (st.status.last_flag) current = st.status.last_flag;
    if (st.banner === "due" && current) {
      showDue(current);
    } else if (st.banner === "break") {
      onMessage({ micro_break: { type: "break_started", kind: st.status.break_kind } });
    } else if (st.banner === "measuring") {
      if (!closedMeasuring) onMessage({ micro_break: { type: "break_ended" } });
    } else if (["due", "break", "measuring"].includes($("micro-break-banner").dataset.phase)) {
      // over since the banner was shown (an effect shown stays until it is closed)
      inBreak = false;
      hide();
    }
  } catch {
    // micro-breaks not available on this server, or the session ended: the banner stays
  }
}

/** Bring the banner into view and focus it (a notification was clicked). */
export function focusBanner() {
  const banner = $("micro-break-banner");
  if (banner.hidden) return;
  banner.scrollIntoView({ block: "start" });
  banner.setAttribute("tabindex", "-1");
  banner.focus();
}

export function detach() {
  session = null;
  hide();
}
