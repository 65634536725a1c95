// The day plan's prompts on the page: a card with the prompt and its answer form (a text, or a
// check-in's items on their scales with anchor words, plus a note), and a system notification
// through nudges.nudge() when the page is hidden. Prompts arrive as `prompt` messages on the
// live socket and, without a live session, by polling GET /api/v1/prompts?state=sent.

import * as api from "./api.js";
import * as nudges from "./nudges.js";

const $ = (id) => document.getElementById(id);

const POLL_MS = 3000;
const TITLES = {
  morning_prompt: "Good morning",
  breathing_reset: "Breathing reset",
  detox_reminder: "Screen break",
  evening_reflection: "End of the day",
  checkin: "Check-in",
};

let current = null; // the prompt shown (PromptOut as JSON)
let values = {}; // item key -> value or choice picked
const nudged = new Set();
let onError = () => {};

function hide() {
  current = null;
  $("prompt-card").hidden = true;
  $("prompt-card").dataset.promptId = "";
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
    b.setAttribute("aria-pressed", "false");
    b.addEventListener("click", () => {
      values[item.key] = option;
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
  const card = $("prompt-card");
  card.dataset.promptId = String(prompt.id);
  card.dataset.kind = prompt.kind;
  $("prompt-title").textContent = TITLES[prompt.kind] || "Prompt";
  $("prompt-text").textContent = prompt.text;
  const items = $("prompt-items");
  items.replaceChildren(...(prompt.kind === "checkin" ? prompt.items.map(itemField) : []));
  $("prompt-answer-label").hidden = prompt.kind === "checkin";
  $("prompt-answer").hidden = prompt.kind === "checkin";
  $("prompt-answer").value = "";
  $("prompt-note-label").hidden = prompt.kind !== "checkin";
  $("prompt-note").hidden = prompt.kind !== "checkin";
  $("prompt-note").value = "";
  $("prompt-status").textContent = "";
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
  if (!current || current.id !== prompt.id) show(prompt);
  notify(prompt);
}

/** A `prompt` message from the live socket. */
export function onMessage(msg) {
  const p = msg.prompt;
  if (msg.event === "sent") offer(p);
  else if (current && current.id === p.id) hide();
}

async function poll() {
  if (!api.getToken()) return;
  try {
    const { prompts } = await api.get("/prompts?state=sent&limit=50");
    if (!prompts.length) {
      if (current) hide();
      return;
    }
    const newest = prompts[prompts.length - 1];
    if (current && !prompts.some((p) => p.id === current.id)) hide();
    if (!current) offer(newest);
  } catch {
    // the service is away or the token is being asked for: the next poll tries again
  }
}

async function submit(ev) {
  ev.preventDefault();
  if (!current) return;
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
  try {
    await api.post(`/prompts/${id}/answer`, body);
    hide();
    $("prompt-done").textContent = "Saved. Thank you.";
  } catch (err) {
    $("prompt-status").textContent = `Not saved: ${err.message}`;
    onError(err.message);
  }
}

async function dismiss() {
  if (!current) return;
  const id = current.id;
  try {
    await api.post(`/prompts/${id}/dismiss`);
  } catch {
    // expired meanwhile: it is gone either way
  }
  hide();
}

export function init(options = {}) {
  onError = options.onError || onError;
  $("prompt-form").addEventListener("submit", submit);
  $("prompt-dismiss").addEventListener("click", dismiss);
  setInterval(() => {
    poll();
  }, POLL_MS);
  poll();
}
