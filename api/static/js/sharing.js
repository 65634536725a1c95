// The "Team sharing" settings: whether this person shares daily aggregates with an
// organisation's hub, exactly what a day's contribution holds (shown before joining), joining
// with the hub's address and an invite code, and stopping (with or without deleting the days
// sent), each change confirmed first. The service does the work (/api/v1/share, the same code
// as `hrvpace share`).

import * as api from "./api.js";

const $ = (id) => document.getElementById(id);

const FIELD_UNITS = {
  resting_rmssd_ms: "ms",
  resting_hr_bpm: "beats/min",
  stress: "/ 5",
  energy: "/ 5",
  break_effect_rmssd_ms: "ms",
  practice_min: "min",
};

let share = null; // the last GET /share answer
let pending = null; // the action the confirmation panel asks about

function hostOf(url) {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function renderState() {
  const m = share.membership;
  let text;
  if (share.state === "not_sharing") {
    text = "Not sharing with any hub. To join, enter the address and invite code your organisation gave you.";
  } else if (share.state === "sharing") {
    text = `Sharing with ${hostOf(m.hub_url)} as member ${m.member_id}; days count from ${m.counts_from}; ` +
      `last day sent: ${m.last_sent || "none yet"}.`;
  } else {
    text = `Stopped sharing with ${hostOf(m.hub_url)} on ${m.stopped_on}: nothing more is sent. ` +
      (m.last_sent
        ? `The days sent before (up to ${m.last_sent}) stay on the hub until you delete them; ` +
          "sharing again means deleting them first."
        : "No day was sent before you stopped; sharing again means deleting this membership first.");
    // the stop's answer when the hub had ended the membership already: done all the same
    if (share.hub_had_stopped) text = `The hub had already ended this membership. ${text}`;
  }
  const stateLine = $("share-state");
  stateLine.textContent = text;
  stateLine.dataset.state = share.state;
  $("share-join").hidden = share.state !== "not_sharing";
  $("share-stop").hidden = share.state !== "sharing";
  $("share-delete").hidden = share.state === "not_sharing";
  $("share-delete").textContent = share.state === "stopped" ? "Delete my days on the hub" : "Stop and delete my days";
}

function renderPreview(preview) {
  const c = preview.contribution;
  $("share-preview-day").textContent = `Yesterday's (${c.date}) as an example; a dash means no data that day (sent as null).`;
  const rows = Object.entries(c).map(([key, value]) => {
    const tr = document.createElement("tr");
    const name = document.createElement("td");
    name.textContent = key;
    const cell = document.createElement("td");
    if (value === null) {
      cell.textContent = "-";
      cell.className = "null";
    } else {
      cell.textContent = FIELD_UNITS[key] ? `${value} ${FIELD_UNITS[key]}` : String(value);
    }
    cell.dataset.value = JSON.stringify(value);
    tr.dataset.field = key;
    tr.append(name, cell);
    return tr;
  });
  $("share-preview").querySelector("tbody").replaceChildren(...rows);
  $("share-definitions").textContent = preview.definitions;
}

function ask(text, yesLabel, action) {
  pending = action;
  $("share-confirm-text").textContent = text;
  $("share-confirm-yes").textContent = yesLabel;
  $("share-confirm").hidden = false;
  $("share-confirm-yes").focus();
}

function closeConfirm() {
  pending = null;
  $("share-confirm").hidden = true;
}

function setBusy(busy) {
  for (const id of ["share-join-button", "share-stop", "share-delete", "share-confirm-yes"]) $(id).disabled = busy;
}

async function run(action) {
  $("share-error").textContent = "";
  setBusy(true);
  try {
    share = await action();
    renderState();
    return true;
  } catch (err) {
    $("share-error").textContent = `Not done: ${err.message}`;
    return false;
  } finally {
    setBusy(false);
  }
}

function onJoin(ev) {
  ev.preventDefault();
  const hubUrl = $("share-hub").value.trim();
  const invite = $("share-invite").value.trim();
  ask(
    `Share the daily numbers above with ${hostOf(hubUrl)}? You can stop at any time and delete what was sent.`,
    "Yes, share",
    () => api.post("/share/join", { hub_url: hubUrl, invite }),
  );
}

function onStop() {
  const sent = share.membership && share.membership.last_sent;
  ask(
    (sent
      ? "Stop sharing? Nothing more is sent; the days already sent stay on the hub until you delete them. "
      : "Stop sharing? No day has been sent yet, and nothing more will be. ") +
      "To share again later, with this hub or another, you first delete what this membership sent (Delete my days on the hub).",
    "Yes, stop",
    () => api.post("/share/stop", { delete: false }),
  );
}

function onDelete() {
  const text = share.state === "stopped"
    ? "Delete every day sent to the hub? This cannot be undone."
    : "Stop sharing and delete every day sent to the hub? This cannot be undone.";
  ask(text, "Yes, delete", () => api.post("/share/stop", { delete: true }));
}

async function onConfirm() {
  const action = pending;
  if (!action) return;
  if (await run(action)) {
    closeConfirm();
    $("share-invite").value = "";
  }
}

export async function refresh() {
  if (!api.getToken()) return;
  try {
    const [state, preview] = await Promise.all([api.get("/share"), api.get("/share/preview")]);
    share = state;
    renderState();
    renderPreview(preview);
  } catch {
    // the service is away or the token is being asked for: the next refresh tries again
  }
}

export function init() {
  $("share-join").addEventListener("submit", onJoin);
  $("share-stop").addEventListener("click", onStop);
  $("share-delete").addEventListener("click", onDelete);
  $("share-confirm-yes").addEventListener("click", onConfirm);
  $("share-confirm-no").addEventListener("click", closeConfirm);
  refresh();
}
