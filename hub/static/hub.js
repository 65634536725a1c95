// The hub's dashboard: groups, weekly trends (suppressed cells shown as such), interventions.
// Plain JS; every value goes in with textContent (no HTML from the server).
"use strict";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "hrvpace-hub-token";
// The admin token opens every group's figures and invites: it is kept for this tab in
// sessionStorage, as the personal page keeps its token, not in localStorage, which any later
// user of the browser could read. A token an earlier version left in localStorage is erased,
// not used (whoever opens the page next may not be the admin): the admin is asked once more.
localStorage.removeItem(TOKEN_KEY);
let token = sessionStorage.getItem(TOKEN_KEY) || "";

function forgetToken(refused) {
  if (sessionStorage.getItem(TOKEN_KEY) === refused) sessionStorage.removeItem(TOKEN_KEY);
}

let selected = null;

// Forget token abandons every request under way (each is sent with this signal).
const inFlight = new AbortController();
// A request Forget token abandoned: nothing is said of it (the page only says the token is gone).
const abandoned = (err) => err?.name === "AbortError";

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function request(path, options = {}) {
  const res = await fetch(path, {
    ...options,
    signal: inFlight.signal,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
  });
  if (res.status === 401) {
    forgetToken(token);  // not sent again at the next reload
    askToken("That token was not accepted.");
    throw new ApiError(401, "unauthorized");
  }
  if (!res.ok) {
    let detail = `HTTP ${res.status}`;
    try { detail = (await res.json()).detail || detail; } catch (e) { /* not JSON */ }
    throw new ApiError(res.status, detail);
  }
  return res;
}

async function api(path, options = {}) {
  const res = await request(path, options);
  return res.headers.get("content-type")?.includes("json") ? res.json() : res.text();
}

// A whole list (groups, invites, interventions): its pages, following each answer's Link rel="next". An
// item on two pages (an invite revoked between them: active, then revoked) is kept once, as
// the later page has it, where it has it: its Revoke would 404.
async function apiAll(path) {
  const items = new Map();
  for (let next = path; next;) {
    const res = await request(next);
    for (const item of await res.json()) {
      items.delete(item.id);
      items.set(item.id, item);
    }
    next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get("link") || "")?.[1];
  }
  return [...items.values()];
}

// A load or action the admin started (the page's first load, a button): a failure, a later
// page's too, is said in `out` as a form's error is (a 401 asks for the token instead).
async function reporting(out, what, action) {
  try {
    await action();
  } catch (err) {
    if (abandoned(err)) return;
    if (err.status !== 401) $(out).textContent = `${what}: ${err.message}`;
  }
}

function askToken(message = "") {
  $("token-error").textContent = message;
  $("token-input").value = "";
  if (!$("token-dialog").open) $("token-dialog").showModal();
  $("token-input").focus();
}

$("token-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const before = token;
  token = $("token-input").value.trim();
  try {
    await api("/hub/v1/groups");
  } catch (err) {
    if (abandoned(err)) return;
    // a refused token does not replace the one in use (Esc keeps the page working with it)
    if (err.status === 401) token = before === token ? "" : before;
    $("token-error").textContent = err.status === 401 ? "That token was not accepted." : err.message;
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  $("token-dialog").close();
  await reporting("group-out", "Could not load", loadAll);  // the dialog is closed: said on the page
});
$("token-change").addEventListener("click", () => askToken());
// Sign out: the token leaves the tab's storage and the page. What the page shows (figures, an
// invite code) is removed at once, not when the reload's answer comes (a slow hub, or Stop,
// would leave it on the screen); the requests under way are abandoned, their answers never
// shown (one the hub already received still takes effect there: an invite made is listed, its
// code not shown). The reload starts the page anew and asks for a token. If it is stopped, the
// page says so, with no token buttons: their requests would go out with the aborted signal and
// fail unsaid (review).
$("token-forget").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  token = "";
  inFlight.abort();
  clearTimeout(sayTimer);  // the count of groups shown is gone with the page
  const note = document.createElement("p");
  note.textContent = "Token forgotten. Reload the page to sign in again.";
  document.querySelector("main").replaceChildren(note);
  document.querySelector(".token-buttons").remove();
  location.reload();
});

function td(text, cls = "") {
  const cell = document.createElement("td");
  cell.textContent = text;
  if (cls) cell.className = cls;
  return cell;
}

function fmt(x, digits = 1) {
  return x === null || x === undefined ? "–" : Number(x).toFixed(digits);
}

// Dates as the hub counts them: UTC (weeks are ISO weeks, Monday 00:00 UTC).
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function utcDate(iso) {
  return new Date(iso.length === 10 ? `${iso}T00:00:00Z` : iso);
}

function fmtDay(iso) {
  const d = utcDate(iso);
  return `${DAYS[d.getUTCDay()]} ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

function fmtTime(iso) {
  const d = utcDate(iso);
  const hm = `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`;
  return `${fmtDay(iso)}, ${hm} UTC`;
}

// The Monday (YYYY-MM-DD) of the ISO week holding the day `iso`.
function mondayOf(iso) {
  const d = new Date(`${iso.slice(0, 10)}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  return d.toISOString().slice(0, 10);
}

function addDays(iso, days) {
  const d = new Date(`${iso.slice(0, 10)}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

// Every table scrolls sideways in its own box, so a phone scrolls the table, not the page.
function scrollBox(table) {
  if (table.parentElement?.classList.contains("scroll")) return table.parentElement;
  const box = document.createElement("div");
  box.className = "scroll";
  table.replaceWith(box);
  box.append(table);
  return box;
}

function button(text, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.addEventListener("click", onClick);
  return b;
}

const groupsById = new Map();
let groupList = [];  // as the hub lists them: oldest first

// Letters that Unicode does not take apart into a letter and an accent, folded as a reader
// types them ("lodz" finds "Łódź"; "strasse" finds "Straße", as ß compares in the hub's names;
// the hub tells "Łódź" from "Lodz").
const FOLDS = { "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ı": "i" };

// A name as the Find box compares it: case, accents (and FOLDS) ignored, a run of spaces as one.
function folded(text) {
  return text.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase()
    .replace(/[ßæœøłđı]/g, (c) => FOLDS[c]).replace(/\s+/g, " ").trim();
}

// Whether the Find box lets a name through.
function found(name) {
  return folded(name).includes(folded($("group-filter").value));
}

// "Ward 9" before "Ward 10"; case and accents ignored
const byName = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" }).compare;
const SORTS = {
  created: () => 0,  // the hub's order, kept by a stable sort
  name: (a, b) => byName(a.name, b.name),
  "members-desc": (a, b) => b.members - a.members || byName(a.name, b.name),
  "members-asc": (a, b) => a.members - b.members || byName(a.name, b.name),
};

let loadSeq = 0;  // the latest loadGroups: an earlier one answered later is dropped

// The groups anew; `reveal`: the id of a group whose row to scroll into view (one just made).
async function loadGroups(reveal = "") {
  const seq = ++loadSeq;
  const groups = await apiAll("/hub/v1/groups");
  if (seq !== loadSeq) return;  // a later refresh started meanwhile: its list is the newer
  groupsById.clear();
  for (const g of groups) groupsById.set(g.id, g);
  groupList = groups;
  // as the hub now has it (renamed?) before the rows are drawn: the count says its name (review)
  if (selected) selected = groupsById.get(selected.id) || null;
  const shown = renderGroups();
  const row = reveal && $("groups").querySelector(`tr[data-group="${CSS.escape(reveal)}"]`);
  if (row) revealRow(row);
  // at first, the first row shown (the sort may be one the browser restored at a reload)
  if (!selected && groups.length) await selectGroup(shown[0] || groups[0]);
  else if (selected) await selectGroup(selected);  // its member count may have changed (a week closed)
}

let shownIds = new Set();  // the groups renderGroups listed
let shownCount = "";  // and how many of how many

// The count of groups shown, and whether the group whose trends and invites are shown is
// hidden by Find (its row cannot be marked). Written only when it changes: a status region
// is read out at each write.
function sayShown() {
  const hidden = selected && !shownIds.has(selected.id)
    ? ` (${selected.name}, shown below, is hidden by Find)` : "";
  const text = shownCount + hidden;
  if ($("groups-shown").textContent !== text) $("groups-shown").textContent = text;
}

// The groups the Find box lets through, in the order chosen: one row each (all that the hub
// lists of a group: its name, k, member count, creation day; never a person). Returns them;
// `say` false leaves their count unsaid (while the admin types, it is said after a pause).
function renderGroups(say = true) {
  const find = $("group-filter").value;
  const needle = folded(find);
  const shown = groupList.filter((g) => folded(g.name).includes(needle))
    .sort(SORTS[$("group-sort").value] || SORTS.created);
  const total = `${groupList.length} group${groupList.length === 1 ? "" : "s"}`;
  shownCount = needle ? `${shown.length} of ${total} shown` : total;
  shownIds = new Set(shown.map((g) => g.id));
  if (say) sayShown();
  const body = $("groups").querySelector("tbody");
  body.replaceChildren();
  if (!shown.length && groupList.length) {
    const c = td(`No group's name contains “${find.trim()}”.`, "suppressed");
    c.colSpan = 5;
    const row = document.createElement("tr");
    row.append(c);
    body.append(row);
  }
  for (const g of shown) {
    const row = document.createElement("tr");
    row.dataset.group = g.id;
    const members = td(String(g.members), "num");
    if (g.members < g.k) {  // too few for a week's figures until more members count
      const note = document.createElement("span");
      note.className = "below-k";
      note.textContent = " (below k)";
      members.append(note);
    }
    row.append(td(g.name), td(String(g.k), "num"), members, td(fmtDay(g.created)));
    const actions = document.createElement("td");
    actions.className = "actions";
    actions.append(
      button("Trends", () => reporting("group-out", "Could not load", async () => {
        await selectGroup(g);
        $("trends-section").scrollIntoView();
      })),
      " ",
      button("Invites", () => reporting("group-out", "Could not load", async () => {
        await selectGroup(g);
        $("access-section").scrollIntoView();
      })),
      " ",
      button("Rename", () => reporting("group-out", "Could not rename", () => renameGroup(g))),
    );
    row.append(actions);
    body.append(row);
  }
  markSelected();
  return shown;
}

// The row of the group whose trends and invites are shown is marked (and said: aria-current).
function markSelected() {
  for (const row of $("groups").querySelectorAll("tbody tr[data-group]")) {
    const on = row.dataset.group === selected?.id;
    row.classList.toggle("selected", on);
    if (on) row.setAttribute("aria-current", "true"); else row.removeAttribute("aria-current");
  }
}

// The rows follow each keystroke; the count is said once typing pauses, not at every letter.
let sayTimer = 0;
$("group-filter").addEventListener("input", () => {
  renderGroups(false);
  clearTimeout(sayTimer);
  sayTimer = setTimeout(sayShown, 350);
});
$("group-sort").addEventListener("change", () => renderGroups());

// Scroll the list's box, and only it, so that `row` is in view below the box's sticky header.
function revealRow(row) {
  const box = row.closest(".groups-box");
  const r = row.getBoundingClientRect();
  const inside = box.getBoundingClientRect().top + box.clientTop;  // below its border
  const top = inside + box.querySelector("thead").getBoundingClientRect().height;
  const bottom = inside + box.clientHeight;
  if (r.bottom > bottom) box.scrollTop += Math.ceil(r.bottom - bottom);
  else if (r.top < top) box.scrollTop -= Math.ceil(top - r.top);
}

// A group's invites (id, expiry, uses left; never a code). The hub lists no members: a roster
// an admin could watch or shrink would single people out (README, "Invites and members").
let accessShown = "";  // the id of the group whose invites the table lists (or loads)

// A row across the invites table saying `text`.
function inviteNote(text) {
  const c = td(text, "suppressed");
  c.colSpan = 6;
  const row = document.createElement("tr");
  row.append(c);
  return row;
}

async function loadAccess(group) {
  $("access-section").hidden = false;
  $("access-group").textContent = `– ${group.name}`;
  const ibody = $("invites").querySelector("tbody");
  if (accessShown !== group.id) {  // not the last group's invites (and buttons) under this name
    accessShown = group.id;
    ibody.replaceChildren(inviteNote(`Loading the invites of ${group.name}…`));
  }
  let invites;
  try {
    invites = await apiAll(`/hub/v1/groups/${group.id}/invites`);
  } catch (err) {  // said by the caller; not "Loading" for ever
    if (selected?.id === group.id && !abandoned(err)) {
      ibody.replaceChildren(inviteNote(`Could not load the invites of ${group.name}.`));
    }
    throw err;
  }
  if (selected?.id !== group.id) return;  // another group was chosen meanwhile
  ibody.replaceChildren();
  if (!invites.length) ibody.append(inviteNote("No invites (or all revoked)."));
  const status = { active: "active", expired: "expired", used_up: "used up", revoked: "revoked" };
  for (const inv of invites) {
    const row = document.createElement("tr");
    row.dataset.invite = inv.id;
    const id = document.createElement("code");
    id.textContent = inv.id;
    const idCell = td("");
    idCell.append(id);
    const revoke = button("Revoke", () => reporting("invite-out", `Invite ${inv.id}`, async () => {
      if (!confirm(`Revoke invite ${inv.id} of ${group.name}? No one can join with its code any more.`)) return;
      await api(`/hub/v1/groups/${group.id}/invites/${inv.id}`, { method: "DELETE" });
      $("invite-out").textContent = `Invite ${inv.id} revoked.`;
      await loadAccess(group);
    }));
    const withdraw = button("Withdraw", () => reporting("invite-out", `Invite ${inv.id}`, async () => {
      if (!confirm(`Withdraw invite ${inv.id} of ${group.name}? It is revoked, and everyone who joined with it and has not yet counted in a closed week is removed with their days (your own people among them need a new invite).`)) return;
      const out = await api(`/hub/v1/groups/${group.id}/invites/${inv.id}/withdraw`, { method: "POST" });
      // no count: it would tell what the members did (stopped sharing, deleted their days)
      $("invite-out").textContent = `Invite ${out.invite_id} withdrawn: whoever joined with it and had not yet counted is removed.`;
      // the member count counts only members who already counted in a closed week, whom no
      // withdrawal removes: it is the same as before (it fell if the members still shared)
      await loadGroups();  // shows the group's invites again
    }));
    const act = td("");
    if (inv.status === "revoked") act.append(withdraw);  // members who joined with it may still go
    else act.append(revoke, " ", withdraw);
    const when = (iso) => (iso ? fmtTime(iso) : "–");
    row.append(idCell, td(when(inv.created)), td(when(inv.expires)),
      td(String(inv.uses_left), "num"), td(status[inv.status] || inv.status), act);
    ibody.append(row);
  }
}

$("invite-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const group = selected;
  if (!group) return;
  const body = JSON.stringify({ days: Number($("invite-days").value), uses: Number($("invite-uses").value) });
  try {
    const inv = await api(`/hub/v1/groups/${group.id}/invites`, { method: "POST", body });
    const code = document.createElement("code");
    code.textContent = inv.code;
    $("invite-out").replaceChildren(`Invite code for ${group.name}: `, code,
      ` – shown once, copy it now. Valid until ${fmtTime(inv.expires)}, for ${inv.uses} ` +
      `${inv.uses === 1 ? "person" : "people"}; listed below as ${inv.id}.`);
    await loadAccess(group);
  } catch (err) {
    if (!abandoned(err)) $("invite-out").textContent = err.message;
  }
});

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
  if (selected?.id !== group.id) {  // not the last group's figures under this one's name
    $("trends").querySelector("tbody").replaceChildren();
    $("trends-status").textContent = `Loading the figures of ${group.name}…`;
  }
  selected = group;
  markSelected();
  sayShown();
  $("trends-group").textContent = `– ${group.name} (k = ${group.k})`;
  let summary;
  try {
    [summary] = await Promise.all([
      api(`/hub/v1/groups/${group.id}/summary?by=week`),
      loadAccess(group),
    ]);
  } catch (err) {  // said in group-out by the caller; not "Loading" for ever
    if (selected === group && !abandoned(err)) {
      $("trends-status").textContent = `Could not load the figures of ${group.name}.`;
    }
    throw err;
  }
  if (selected !== group) return;  // another group was chosen meanwhile
  const firstWeek = mondayOf(group.created);
  const body = $("trends").querySelector("tbody");
  body.replaceChildren();
  let before = 0;
  for (const cell of summary.periods.slice().reverse()) {
    if (cell.status === "before_group") { before += 1; continue; }  // not listed: said below
    const row = document.createElement("tr");
    row.dataset.period = cell.period;
    row.append(td(cell.period));
    if (cell.suppressed) {
      const why = cell.start === firstWeek
        ? "the group's first week: no figures, members count from the Monday after they join"
        : cell.status === "open" ? `open: closes ${fmtTime(cell.closes)}`
          : `suppressed: fewer than ${summary.k} members sent data`;
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
  // what the admin of a new group wants to know: from when someone joining now counts
  const thisWeek = mondayOf(summary.to);  // the view ends with the hub's current week
  // members sharing who have counted in a closed week (a newcomer shows once their first
  // week closed; README, "Invites and members")
  const parts = [`${group.name} was created ${fmtDay(group.created)}; ${group.members} ` +
    `member${group.members === 1 ? "" : "s"} sharing who counted in a closed week.`];
  const next = addDays(thisWeek, 7);
  // when that week closes, as the hub says it (an open week's `closes`)
  const later = await api(`/hub/v1/groups/${group.id}/summary?from=${next}&to=${next}&by=week`);
  if (selected !== group) return;
  const closes = later.periods[0]?.closes;
  parts.push(`Someone who joins now counts from ${fmtDay(next)}` +
    (closes ? `; that week's figures appear when it closes, ${fmtTime(closes)}, if at ` +
      `least ${group.k} members send data.` : "."));
  if (before) parts.push(`The ${before} earlier week${before === 1 ? "" : "s"} of this view, ` +
    "before the group existed, are not listed.");
  $("trends-status").textContent = parts.join(" ");
}

async function loadInterventions() {
  const list = await apiAll("/hub/v1/interventions");
  const ul = $("interventions");
  ul.replaceChildren();
  for (const iv of list) {
    const li = document.createElement("li");
    const group = (gid) => groupsById.get(gid)?.name || gid;
    li.textContent = `${iv.name} (${group(iv.group_id)}` +
      (iv.control_group ? `, control: ${group(iv.control_group)}` : "") +
      `): T0 ${iv.t0.from}–${iv.t0.to}, T1 ${iv.t1.from}–${iv.t1.to} `;
    if (iv.ready) {
      const b = document.createElement("button");
      b.textContent = "Effect";
      b.addEventListener("click", () => reporting("effect-out",
        `Could not show the effect of ${iv.name}`, () => showEffect(iv)));
      li.append(b);
    } else {
      li.append("– effect once T1 has closed");
    }
    ul.append(li);
  }
}

const WITHHELD = {
  differencing: "suppressed: would single someone out (not the same members in every T0 and T1 week)",
  fewer_than_k: "suppressed: fewer than k members in a T0 or T1 week",
};

// One row per measure and arm: the group's, and the control group's when there is one (each
// released or withheld on its own, with the reason), the difference in differences beside.
async function showEffect(iv) {
  const effect = await api(`/hub/v1/interventions/${iv.id}/effect`);
  $("effect-out").textContent = "";  // an earlier error is over
  const table = document.createElement("table");
  table.id = "effect-table";
  const head = document.createElement("tr");
  for (const h of ["Measure", "Arm", "n", "Mean change (95 % CI)", "d_z", "Diff. in diff. (95 % CI)"]) {
    const th = document.createElement("th");
    th.textContent = h;
    head.append(th);
  }
  table.append(head);
  const name = (gid) => groupsById.get(gid)?.name || gid;
  for (const [measure, m] of Object.entries(effect.measures)) {
    const arms = [["group", m.group, name(effect.group_id)]];
    if (m.control) arms.push(["control", m.control, `control: ${name(effect.control_group)}`]);
    arms.forEach(([arm, a, label], i) => {
      const row = document.createElement("tr");
      row.dataset.measure = measure;
      row.dataset.arm = arm;
      if (i === 0) {
        const c = td(measure);
        c.rowSpan = arms.length;
        row.append(c);
      }
      row.append(td(label));
      if (a.suppressed) {
        const c = td(WITHHELD[a.reason] || `suppressed (${a.reason})`, "suppressed");
        c.colSpan = 3;
        row.append(c);
      } else {
        row.append(td(String(a.n), "num"),
          td(`${fmt(a.mean_change, 2)} (${fmt(a.ci_low, 2)} to ${fmt(a.ci_high, 2)})`, "num"),
          td(fmt(a.d_z, 2), "num"));
      }
      if (i === 0) {
        const did = m.diff_in_diff;
        const c = did
          ? td(`${fmt(did.estimate, 2)} (${fmt(did.ci_low, 2)} to ${fmt(did.ci_high, 2)})`, "num")
          : td(m.control ? "– (an arm is suppressed)" : "– (no control group)", "suppressed");
        c.rowSpan = arms.length;
        row.append(c);
      }
      table.append(row);
    });
  }
  const csv = button("Download CSV", () => reporting("effect-out",
    `Could not download the effect of ${iv.name}`, async () => {
      const text = await api(`/hub/v1/interventions/${iv.id}/effect.csv`);
      $("effect-out").textContent = "";
      const a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
      a.download = `effect-${iv.id}.csv`;
      a.click();
    }));
  const title = document.createElement("h3");
  title.textContent = `Effect of ${iv.name}`;
  $("effect").replaceChildren(title, table, csv);
  scrollBox(table);
}

// A group's new name (PATCH: only the name changes; its id, figures and studies stay). A name
// another group has, in any case, is refused by the hub and said in group-out.
async function renameGroup(group) {
  const name = prompt(`New name for ${group.name} (its figures, invites and studies stay):`, group.name);
  if (name === null || name.trim() === "" || name.trim() === group.name) return;
  const renamed = await api(`/hub/v1/groups/${group.id}`, {
    method: "PATCH", body: JSON.stringify({ name }),
  });
  const done = `Renamed ${group.name} to ${renamed.name}`;
  $("group-out").textContent = `${done}.`;
  try {
    await loadAll();  // the interventions show the group's name too
  } catch (err) {  // the rename stands: not "Could not rename" (review)
    if (!abandoned(err) && err.status !== 401) $("group-out").textContent = `${done}; could not reload: ${err.message}`;
  }
}

$("group-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const body = JSON.stringify({ name: $("group-name").value, k: Number($("group-k").value) });
  let created;
  try {
    created = await api("/hub/v1/groups", { method: "POST", body });
  } catch (err) {
    if (!abandoned(err)) $("group-out").textContent = err.message;
    return;
  }
  $("group-name").value = "";
  // said at once (an earlier error goes): its row may be far down the list, or hidden by Find
  const done = `Created group ${created.name}` + (found(created.name) ? "" : " (hidden by Find)");
  $("group-out").textContent = `${done}.`;
  try {
    await loadGroups(created.id);
  } catch (err) {  // the group stands: not an error about creating it
    if (!abandoned(err) && err.status !== 401) {
      $("group-out").textContent = `${done}; could not reload: ${err.message}`;
    }
  }
});

async function loadAll() {
  await loadGroups();
  await loadInterventions();
}

// the trends table gets its scroll box and, above it, the selected group's status line
{
  const status = document.createElement("p");
  status.id = "trends-status";
  status.className = "hint";
  scrollBox($("trends")).before(status);
}

if (token) reporting("group-out", "Could not load", loadAll); else askToken();
