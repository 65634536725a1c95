// The day plan's prompts on the page: a card with the prompt and its answer form (a text, or a
// check-in's items on their scales with anchor words, plus a note), or for an action prompt its
// buttons (a breathing reset: Start, which starts the 2-minute breathing break, and Done; a
// screen break: Done), both recording the prompt done; and a system notification
// through nudges.nudge() when the page is hidden. Prompts arrive as `prompt` messages on the
// live socket and, without a live session, by polling GET /api/v1/prompts?state=sent (every
// 3 s; every 15 s while the tab is hidden, and at once when it is shown again).
//
// A card the person has written in (or picked a value on) is never taken away under them: a
// newer prompt waits behind it, and if the prompt closes before it is saved (its time ran out:
// the service takes no answer after a prompt expires, it counts as missed; or another window
// answered it) the card stays, says so, and offers to move the words to a check-in note or to
// copy them. Words that do not fit the check-in note (it takes 1,000 characters; the answer box
// takes 4,000) are never cut: the card keeps them and says so, to copy or to shorten and move.

import * as api from "./api.js";
import * as nudges from "./nudges.js";
import { formatPlanTime } from "./workday.js";

const $ = (id) => document.getElementById(id);

const POLL_MS = 3000;
// While the tab is hidden the prompts are read every 15 s, not every 3 s, and showing the tab
// reads them at once: a prompt due meanwhile is on the card as the person looks. The read is
// slowed, not paused: without a live session it is what brings a hidden tab its prompts, and
// with them the system notification (notify -> nudges.nudge, for a hidden tab), which may
// then come up to 15 s after the prompt's time, or about a minute: Chrome runs chained timers
// of a tab hidden for over 5 minutes at most once a minute (intensive wake-up throttling,
// Chrome 88; an open WebSocket is no exemption). (The live socket's reconnect backs off to
// 60 s while hidden, app.js; a prompt is the person's to act on, so it waits less.)
const POLL_HIDDEN_MS = 15000;
const TITLES = {
  morning_prompt: "Good morning",
  breathing_reset: "Breathing reset",
  detox_reminder: "Screen break",
  evening_reflection: "End of the day",
  checkin: "Check-in",
};

// Prompts that ask the person to do something (POST /prompts/{id}/done), and their buttons.
const ACTIONS = { breathing_reset: ["prompt-start", "prompt-did"], detox_reminder: ["prompt-did"] };
const BUTTONS = ["prompt-submit", "prompt-start", "prompt-did", "prompt-dismiss"];
// What the check-in card's note takes (CheckinCreate.note).
const NOTE_MAX = 1000;

let current = null; // the prompt shown (PromptOut as JSON)
let values = {}; // item key -> value or choice picked
let dirty = false; // the person has written in the card or picked a value
let stale = false; // the prompt closed while the card was kept for what the person wrote
let queue = []; // newer prompts waiting behind a card the person is writing in
let busy = false; // a request for the prompt shown is on its way: one at a time (a double-click)
const nudged = new Set();
// Prompts this page saw close (answered, done, dismissed here; closed by the service or another
// window): a prompt never opens again, so a poll answered before the close, arriving after it,
// must not bring its card back.
const gone = new Set();
// Breathing resets whose done is on its way after another prompt took their card: not offered
// again meanwhile (gone once the service took it; back on the card if it failed).
const finishing = new Set();
// Polls are numbered as they are sent. `seenAt` holds, for each prompt offered, how many polls
// had been sent when it was first offered: a poll sent before a prompt existed does not list it,
// so only a poll sent after the page saw the prompt can say it closed. An answer older than one
// already read is left unread (answers may arrive out of order).
let pollsSent = 0;
let pollRead = 0;
const seenAt = new Map();
// How long a breathing reset's done (sent after another prompt took its card) may go unanswered:
// then it counts as failed, as a network failure does, and the reset comes back; without it a
// done that hangs kept the reset off the page, with nothing on screen, for as long as it hung.
let doneTimeoutMs = 15000;
let onError = () => {};
let startReset = async () => "The 2-minute reset is not available on this page.";

function setBusy(on) {
  busy = on;
  for (const id of BUTTONS) $(id).disabled = on;
}

function renderWaiting() {
  const el = $("prompt-waiting");
  el.hidden = !queue.length;
  el.textContent = queue.length === 1 ? "1 more prompt waiting." : `${queue.length} more prompts waiting.`;
}

function hide() {
  current = null;
  dirty = false;
  stale = false;
  $("prompt-card").hidden = true;
  $("prompt-card").dataset.promptId = "";
  $("prompt-card").dataset.stale = "";
  $("prompt-card").dataset.tooLong = "";
  // the status line belongs to the card just closed: closed() and moveToCheckin() write theirs
  // after this, so a confirmation shows until the next card shows or this one hides
  $("prompt-done").textContent = "";
  const next = queue.shift();
  renderWaiting();
  if (next) show(next);
}

/** The words the person wrote in the card (a check-in's picks too), for a note or a copy. */
function writtenText() {
  if (current.kind === "checkin") {
    const picks = current.items
      .filter((i) => values[i.key] !== undefined)
      .map((i) => `${i.label} ${values[i.key]}`);
    return [picks.join(", "), $("prompt-note").value.trim()].filter(Boolean).join(": ");
  }
  const answer = $("prompt-answer").value.trim();
  return answer ? `${current.text} ${answer}` : "";
}

/** The prompt shown closed before it was saved: keep the card and what was written. */
function keep(why) {
  stale = true;
  $("prompt-card").dataset.stale = "1";
  for (const id of ["prompt-submit", "prompt-start", "prompt-did"]) $(id).hidden = true;
  $("prompt-keep").hidden = false;
  $("prompt-copy").hidden = false;
  $("prompt-dismiss").textContent = "Discard";
  const elsewhere = ["answered", "done", "dismissed"].includes(why);
  const reason =
    why === "expired"
      ? `This prompt expired at ${formatPlanTime(current.expires_at)} before it was saved: the service takes no answer after a prompt's time (it counts as missed).`
      : elsewhere
        ? `This prompt was ${why === "done" ? "marked done" : why} in another window, so this answer cannot be saved to it.`
        : "This prompt has closed (its time ran out, or another window answered it), so this answer cannot be saved to it.";
  $("prompt-status").textContent = `${reason} What you wrote is still here: move it to a check-in note, or copy it.`;
}

/** Why prompt `id` (due at `dueAt`) is no longer open: its state (expired, answered, ...). */
async function closedWhy(id, dueAt) {
  try {
    const { prompts } = await api.get(`/prompts?since=${dueAt}&limit=50`);
    return prompts.find((p) => p.id === id)?.state || "closed";
  } catch {
    return "closed";
  }
}

/** The service says prompt `id` is no longer open (`why`: expired, answered, ..., or closed). */
function lost(id, why) {
  gone.add(id);
  queue = queue.filter((q) => q.id !== id);
  renderWaiting();
  if (!current || current.id !== id || stale) return;
  if (dirty) keep(why);
  else hide();
}

function moveToCheckin() {
  if (!current) return;
  const text = writtenText();
  const note = $("checkin-note");
  const before = note.value.trim();
  const joined = [before, text].filter(Boolean).join("\n");
  if (joined.length > NOTE_MAX) {
    // never cut what the person wrote: it stays on the card, whole, until it fits or is copied
    const over = joined.length - NOTE_MAX;
    const held = before ? `, and it holds ${before.length} already` : "";
    $("prompt-card").dataset.tooLong = "1";
    $("prompt-status").textContent =
      `Not moved: this is ${over} characters too long for a check-in note (it takes ${NOTE_MAX}${held}). ` +
      "Nothing was cut: copy it (Copy text), or shorten it here and move it again.";
    return;
  }
  note.value = joined;
  hide();
  $("prompt-done").textContent = "Moved to the check-in note: pick stress and energy there to save it.";
  note.scrollIntoView({ behavior: "smooth", block: "center" });
  note.focus({ preventScroll: true });
}

async function copyText() {
  if (!current) return;
  const text = writtenText();
  try {
    await navigator.clipboard.writeText(text);
    $("prompt-status").textContent = "Copied.";
  } catch {
    // no clipboard permission: select the words so the person can copy them
    const box = current.kind === "checkin" ? $("prompt-note") : $("prompt-answer");
    box.focus();
    box.select();
    $("prompt-status").textContent = "Select and copy (Ctrl+C): the clipboard is not available here.";
  }
}

// The words of each point of the stress and energy scales (as the check-in card's, app.js
// SCALE_WORDS); other scales have words at their ends only (their anchors).
const SCALE_WORDS = {
  stress: ["very relaxed", "relaxed", "neither relaxed nor stressed", "stressed", "very stressed"],
  energy: ["exhausted", "tired", "neither tired nor energetic", "energetic", "full of energy"],
};

/** The words for `value` on `item`'s scale: its own word on a 1-5 stress or energy scale,
 * else the anchor at either end, else "". */
function scaleWords(item, value) {
  const words = SCALE_WORDS[item.key];
  if (words && item.scale_min === 1 && item.scale_max === 5) return words[value - 1];
  if (value === item.scale_min) return item.anchor_low || "";
  if (value === item.scale_max) return item.anchor_high || "";
  return "";
}

function itemField(item) {
  const box = document.createElement("fieldset");
  box.className = "scale";
  const legend = document.createElement("legend");
  const anchors = item.anchor_low || item.anchor_high
    ? ` (${item.scale_min} ${item.anchor_low}, ${item.scale_max} ${item.anchor_high})`
    : "";
  legend.textContent = item.choices.length ? item.label : `${item.label}${anchors}`;
  box.append(legend);
  const row = document.createElement("div");
  row.className = "scale-buttons";
  const options = item.choices.length
    ? item.choices
    : Array.from({ length: item.scale_max - item.scale_min + 1 }, (_, i) => item.scale_min + i);
  for (const option of options) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = String(option);
    b.dataset.item = item.key;
    if (!item.choices.length) {
      // named as the check-in card's own buttons: "Stress 4 of 5: stressed", not "4"
      const words = scaleWords(item, option);
      b.setAttribute("aria-label", `${item.label} ${option} of ${item.scale_max}${words ? `: ${words}` : ""}`);
      if (words) b.title = words;
    }
    b.setAttribute("aria-pressed", "false");
    b.addEventListener("click", () => {
      if (stale) return;
      values[item.key] = option;
      dirty = true;
      for (const other of row.querySelectorAll("button")) {
        other.setAttribute("aria-pressed", String(other === b));
      }
    });
    row.append(b);
  }
  box.append(row);
  return box;
}

function show(prompt) {
  current = prompt;
  values = {};
  dirty = false;
  stale = false;
  const card = $("prompt-card");
  card.dataset.promptId = String(prompt.id);
  card.dataset.stale = "";
  card.dataset.tooLong = "";
  $("prompt-keep").hidden = true;
  $("prompt-copy").hidden = true;
  $("prompt-dismiss").textContent = "Dismiss";
  card.dataset.kind = prompt.kind;
  $("prompt-title").textContent = TITLES[prompt.kind] || "Prompt";
  $("prompt-text").textContent = prompt.text;
  const items = $("prompt-items");
  items.replaceChildren(...(prompt.kind === "checkin" ? prompt.items.map(itemField) : []));
  const actions = ACTIONS[prompt.kind];
  const typed = prompt.kind !== "checkin" && !actions; // answered with a text
  $("prompt-answer-label").hidden = !typed;
  $("prompt-answer").hidden = !typed;
  $("prompt-submit").hidden = Boolean(actions);
  for (const id of ["prompt-start", "prompt-did"]) $(id).hidden = !actions?.includes(id);
  setBusy(false);
  $("prompt-answer").value = "";
  $("prompt-note-label").hidden = prompt.kind !== "checkin";
  $("prompt-note").hidden = prompt.kind !== "checkin";
  $("prompt-note").value = "";
  $("prompt-status").textContent = "";
  $("prompt-done").textContent = ""; // an earlier card's "Saved. Thank you." is not this one's
  card.hidden = false;
}

function notify(prompt) {
  if (nudged.has(prompt.id)) return;
  nudged.add(prompt.id);
  nudges.nudge({
    title: TITLES[prompt.kind] || "hrvpace",
    body: prompt.text,
    tag: `hrvpace-prompt-${prompt.id}`,
    onOpen: () => $("prompt-card").scrollIntoView({ behavior: "smooth", block: "center" }),
  });
}

function offer(prompt) {
  if (gone.has(prompt.id) || finishing.has(prompt.id)) return; // closed since, or closing
  if (!seenAt.has(prompt.id)) seenAt.set(prompt.id, pollsSent);
  if (current && current.id === prompt.id) return notify(prompt);
  if (current && (dirty || stale)) {
    // never replace what the person is writing: the newer prompt waits behind it
    if (!queue.some((q) => q.id === prompt.id)) queue.push(prompt);
    renderWaiting();
  } else {
    show(prompt);
  }
  notify(prompt);
}

/** A `prompt` message from the live socket. */
export function onMessage(msg) {
  const p = msg.prompt;
  if (msg.event === "sent") offer(p);
  else lost(p.id, msg.event);
}

async function poll() {
  if (!api.getToken()) return;
  const sent = ++pollsSent;
  try {
    const { prompts } = await api.get("/prompts?state=sent&limit=50");
    if (sent < pollRead) return; // a poll sent later was read already
    pollRead = sent;
    // not listed: closed, if the page had the prompt before this poll was sent
    const listed = new Set(prompts.map((p) => p.id));
    const open = (id) => listed.has(id) || !seenAt.has(id) || seenAt.get(id) >= sent;
    for (const q of queue.filter((q) => !open(q.id))) lost(q.id, "closed");
    if (current && !open(current.id)) {
      const { id, due_at: dueAt } = current;
      lost(id, dirty && !stale ? await closedWhy(id, dueAt) : "closed");
    }
    // the newest open prompt takes the card, or waits behind one the person is writing in
    const newest = prompts[prompts.length - 1];
    if (newest && !queue.some((q) => q.id === newest.id)) offer(newest);
  } catch {
    // the service is away or the token is being asked for: the next poll tries again
  }
}

// A confirmation ("Saved. Thank you.") is read and done with: it clears after this long (or
// when the next card shows), not stays for hours.
let confirmMs = 8000;
let confirmTimer = null;

/** Say `text` in the status line under the card; it clears by itself after confirmMs. */
function confirm(text) {
  const el = $("prompt-done");
  el.textContent = text;
  clearTimeout(confirmTimer);
  confirmTimer = setTimeout(() => {
    if (el.textContent === text) el.textContent = "";
  }, confirmMs);
}

/** The prompt is closed (answered, done, dismissed or expired): hide it, say so. */
function closed(id, text) {
  gone.add(id);
  if (current && current.id === id) hide();
  confirm(text);
}

/** POST to the prompt shown, one request at a time; resolves to whether it was accepted. */
async function send(path, body) {
  const id = current.id;
  setBusy(true);
  try {
    await api.post(`/prompts/${id}/${path}`, body);
    return true;
  } catch (err) {
    if (err.status === 409) {
      // answered or closed meanwhile (another tab, the phone, its expiry): the answer cannot be
      // saved to it; what the person wrote stays on the card
      if (dirty && current && current.id === id) lost(id, await closedWhy(id, current.due_at));
      else closed(id, "This prompt was already answered or has closed.");
    } else if (current && current.id === id) {
      $("prompt-status").textContent = `Not saved: ${err.message}`;
      onError(err.message);
    }
    return false;
  } finally {
    if (current && current.id === id) setBusy(false);
  }
}

async function submit(ev) {
  ev.preventDefault();
  if (!current || busy || stale || ACTIONS[current.kind]) return;
  const body = {};
  if (current.kind === "checkin") {
    const missing = current.items.filter((i) => values[i.key] === undefined).map((i) => i.label);
    if (missing.length) {
      $("prompt-status").textContent = `Pick a value for: ${missing.join(", ")}`;
      return;
    }
    body.items = current.items.map((i) =>
      i.choices.length ? { key: i.key, choice: values[i.key] } : { key: i.key, value: values[i.key] },
    );
    const note = $("prompt-note").value.trim();
    if (note) body.note = note;
  } else {
    body.text = $("prompt-answer").value.trim();
    if (!body.text) {
      $("prompt-status").textContent = "Write a few words, or dismiss it.";
      return;
    }
  }
  const id = current.id;
  if (await send("answer", body)) closed(id, "Saved. Thank you.");
}

/** An action prompt done: the breathing reset started, or the person says they did it. */
async function done(text) {
  const id = current.id;
  if (await send("done")) closed(id, text);
}

/** Prompt `prompt`, still open, left the card: it comes back (behind the card shown, if any). */
function comeBack(prompt) {
  if (gone.has(prompt.id) || (current && current.id === prompt.id)) return;
  if (!current) return show(prompt);
  // older than the card shown and anything waiting: first in line
  if (!queue.some((q) => q.id === prompt.id)) queue.unshift(prompt);
  renderWaiting();
}

/** A breathing reset's Start: the 2-minute breathing break on the running session, then done. */
async function start() {
  if (!current || busy) return;
  const prompt = current;
  const id = prompt.id;
  setBusy(true);
  const why = await startReset();
  if (!current || current.id !== id) {
    // another prompt took the card while the break started. The break runs, so this reset is
    // done all the same; it is gone only once the service took that (a 409: it closed
    // meanwhile, nothing to record). Not started, or not recorded (the network, the service,
    // the token): it is still open, so it comes back to start or mark done, as a failed
    // dismiss keeps its card.
    if (gone.has(id)) return;
    if (why) {
      onError(why);
      return comeBack(prompt);
    }
    finishing.add(id);
    try {
      await api.post(`/prompts/${id}/done`, {}, { timeoutMs: doneTimeoutMs });
      gone.add(id);
    } catch (err) {
      if (err.status === 409) {
        gone.add(id);
      } else {
        onError(`Breathing reset started, not marked done: ${err.message}`);
        comeBack(prompt);
      }
    } finally {
      finishing.delete(id);
    }
    return;
  }
  setBusy(false);
  if (why) {
    $("prompt-status").textContent = `${why} Or press Done once you have.`;
    return;
  }
  await done("Breathing reset started: follow the pacer.");
}

async function did() {
  if (!current || busy) return;
  await done("Done. Thank you.");
}

async function dismiss() {
  if (!current || busy) return;
  if (stale) return hide(); // closed already: Discard drops what was written, here only
  const id = current.id;
  setBusy(true);
  try {
    await api.post(`/prompts/${id}/dismiss`);
  } catch (err) {
    // a 409: expired or answered meanwhile, it is gone either way; anything else (the network,
    // the service, the token) left it open: the card stays, to dismiss again
    if (err.status !== 409) {
      if (current && current.id === id) {
        setBusy(false);
        $("prompt-status").textContent = `Not dismissed: ${err.message}`;
        onError(err.message);
      }
      return;
    }
  }
  gone.add(id);
  if (current && current.id === id) hide();
}

/** The service answers again after it was away: what it could not take says so no more
 * (the card and its words stay, to save again), and the open prompts are read at once. */
export function serviceBack() {
  const status = $("prompt-status");
  if (status.textContent.includes(api.UNREACHABLE)) {
    status.textContent = current && !stale ? "The service is back: press Save (or your choice) again." : "";
  }
  poll();
}

/** Set how long a breathing reset's done sent behind another card may take (tests lower it). */
export function setDoneTimeoutMs(ms) {
  doneTimeoutMs = ms;
}

export function init(options = {}) {
  onError = options.onError || onError;
  startReset = options.startReset || startReset;
  $("prompt-form").addEventListener("submit", submit);
  $("prompt-start").addEventListener("click", start);
  $("prompt-did").addEventListener("click", did);
  $("prompt-dismiss").addEventListener("click", dismiss);
  $("prompt-keep").addEventListener("click", moveToCheckin);
  $("prompt-copy").addEventListener("click", copyText);
  for (const id of ["prompt-answer", "prompt-note"]) {
    $(id).addEventListener("input", () => {
      if (current && !stale) dirty = Boolean($("prompt-answer").value.trim() || $("prompt-note").value.trim() || Object.keys(values).length);
    });
  }
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) poll(); // shown again: what came due while hidden shows at once
    schedulePoll();
  });
  poll();
  schedulePoll();
}

let pollTimer = null;

/** The next read of the prompts: in 3 s, or in 15 s while the tab is hidden. */
function schedulePoll() {
  clearTimeout(pollTimer);
  pollTimer = setTimeout(
    () => {
      poll();
      schedulePoll();
    },
    document.hidden ? POLL_HIDDEN_MS : POLL_MS,
  );
}
