// The hub's dashboard: groups, weekly trends (suppressed cells shown as such), interventions.
// Plain JS; every value goes in with textContent (no HTML from the server).
"use strict";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "hrvpace-hub-token";
let token = localStorage.getItem(TOKEN_KEY) || "";
let selected = null;

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, options = {}) {
  const res = await fetch(path, {
    ...options,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
  });
  if (res.status === 401) { askToken("That token was not accepted."); throw new ApiError(401, "unauthorized"); }
  if (!res.ok) {
    let detail = `HTTP ${res.status}`;
    try { detail = (await res.json()).detail || detail; } catch (e) { /* not JSON */ }
    throw new ApiError(res.status, detail);
  }
  return res.headers.get("content-type")?.includes("json") ? res.json() : res.text();
}

function askToken(message = "") {
  $("token-error").textContent = message;
  $("token-input").value = "";
  if (!$("token-dialog").open) $("token-dialog").showModal();
  $("token-input").focus();
}

$("token-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  token = $("token-input").value.trim();
  try {
    await api("/hub/v1/groups");
    localStorage.setItem(TOKEN_KEY, token);
    $("token-dialog").close();
    await loadAll();
  } catch (err) {
    $("token-error").textContent = err.status === 401 ? "That token was not accepted." : err.message;
  }
});
$("token-change").addEventListener("click", () => askToken());

function td(text, cls = "") {
  const cell = document.createElement("td");
  cell.textContent = text;
  if (cls) cell.className = cls;
  return cell;
}

function fmt(x, digits = 1) {
  return x === null || x === undefined ? "–" : Number(x).toFixed(digits);
}

async function loadGroups() {
  const groups = await api("/hub/v1/groups");
  const body = $("groups").querySelector("tbody");
  body.replaceChildren();
  for (const g of groups) {
    const row = document.createElement("tr");
    row.dataset.group = g.id;
    row.append(td(g.name), td(String(g.k), "num"), td(String(g.members), "num"));
    const actions = document.createElement("td");
    const show = document.createElement("button");
    show.textContent = "Trends";
    show.addEventListener("click", () => selectGroup(g));
    const invite = document.createElement("button");
    invite.textContent = "Invite code";
    invite.addEventListener("click", async () => {
      const inv = await api(`/hub/v1/groups/${g.id}/invites`, { method: "POST", body: "{}" });
      const code = document.createElement("code");
      code.textContent = inv.code;
      $("invite-out").replaceChildren(`Invite code for ${g.name} (shown once, ${inv.uses} uses): `, code);
    });
    actions.append(show, " ", invite);
    row.append(actions);
    body.append(row);
  }
  if (!selected && groups.length) await selectGroup(groups[0]);
}

function measureCell(cell, name, digits = 1) {
  if (cell.suppressed) return td(cell.status === "open" ? "open" : "suppressed", "suppressed");
  const m = cell.measures[name];
  if (!m || m.suppressed) return td("suppressed", "suppressed");
  const median = m.median === null || m.median === undefined
    ? "median withheld: n < 5"
    : `median ${fmt(m.median, digits)}`;
  return td(`${fmt(m.mean, digits)} (${median})`, "num");
}

async function selectGroup(group) {
  selected = group;
  $("trends-group").textContent = `– ${group.name} (k = ${group.k})`;
  const summary = await api(`/hub/v1/groups/${group.id}/summary?by=week`);
  const body = $("trends").querySelector("tbody");
  body.replaceChildren();
  for (const cell of summary.periods.slice().reverse()) {
    const row = document.createElement("tr");
    row.dataset.period = cell.period;
    row.append(td(cell.period));
    if (cell.suppressed) {
      const why = cell.status === "open" ? "open (not closed yet)"
        : cell.status === "before_group" ? "before the group existed"
        : `suppressed: fewer than ${summary.k} members`;
      const c = td(why, "suppressed");
      c.colSpan = 7;
      row.append(c);
    } else {
      row.append(td(`${cell.contributors} / ${cell.members}`, "num"));
      for (const [name, d] of [["resting_rmssd_ms", 1], ["resting_hr_bpm", 1], ["stress", 2],
        ["energy", 2], ["breaks", 1], ["practice_min", 1]]) {
        row.append(measureCell(cell, name, d));
      }
    }
    body.append(row);
  }
}

async function loadInterventions() {
  const list = await api("/hub/v1/interventions");
  const ul = $("interventions");
  ul.replaceChildren();
  for (const iv of list) {
    const li = document.createElement("li");
    li.textContent = `${iv.name}: T0 ${iv.t0.from}–${iv.t0.to}, T1 ${iv.t1.from}–${iv.t1.to}` +
      (iv.control_group ? " (with control group) " : " ");
    if (iv.ready) {
      const b = document.createElement("button");
      b.textContent = "Effect";
      b.addEventListener("click", () => showEffect(iv));
      li.append(b);
    } else {
      li.append("– effect once T1 has closed");
    }
    ul.append(li);
  }
}

async function showEffect(iv) {
  const effect = await api(`/hub/v1/interventions/${iv.id}/effect`);
  const table = document.createElement("table");
  table.id = "effect-table";
  const head = document.createElement("tr");
  for (const h of ["Measure", "n", "Mean change (95 % CI)", "d_z", "Diff. in diff. (95 % CI)"]) {
    const th = document.createElement("th");
    th.textContent = h;
    head.append(th);
  }
  table.append(head);
  for (const [name, m] of Object.entries(effect.measures)) {
    const row = document.createElement("tr");
    row.dataset.measure = name;
    row.append(td(name));
    const g = m.group;
    if (g.suppressed) {
      const c = td(g.reason === "differencing" ? "suppressed (would single someone out)"
        : "suppressed: fewer than k pairs", "suppressed");
      c.colSpan = 4;
      row.append(c);
    } else {
      row.append(td(String(g.n), "num"),
        td(`${fmt(g.mean_change, 2)} (${fmt(g.ci_low, 2)} to ${fmt(g.ci_high, 2)})`, "num"),
        td(fmt(g.d_z, 2), "num"),
        td(m.diff_in_diff ? `${fmt(m.diff_in_diff.estimate, 2)} (${fmt(m.diff_in_diff.ci_low, 2)} to ${fmt(m.diff_in_diff.ci_high, 2)})` : "–", "num"));
    }
    table.append(row);
  }
  const csv = document.createElement("button");
  csv.textContent = "Download CSV";
  csv.addEventListener("click", async () => {
    const text = await api(`/hub/v1/interventions/${iv.id}/effect.csv`);
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
    a.download = `effect-${iv.id}.csv`;
    a.click();
  });
  const title = document.createElement("h3");
  title.textContent = `Effect of ${iv.name}`;
  $("effect").replaceChildren(title, table, csv);
}

$("group-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const body = JSON.stringify({ name: $("group-name").value, k: Number($("group-k").value) });
  try {
    await api("/hub/v1/groups", { method: "POST", body });
    $("group-name").value = "";
    await loadGroups();
  } catch (err) {
    $("invite-out").textContent = err.message;
  }
});

async function loadAll() {
  await loadGroups();
  await loadInterventions();
}

if (token) loadAll().catch(() => {}); else askToken();
