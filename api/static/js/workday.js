// The "Working day" card: the day plan's interventions (each can be switched on or off), the
// calendar feed's subscription link, the webhooks' state, and the personal dashboard (check-in
// stress and energy beside resting RMSSD and breaks, per day; the week's "did my breaks help").

import * as api from "./api.js";

const $ = (id) => document.getElementById(id);

const REFRESH_MS = 30000;
const KIND_NAMES = {
  morning_prompt: "Morning prompt",
  breathing_reset: "Breathing reset",
  detox_reminder: "Screen break",
  evening_reflection: "Evening reflection",
  checkin: "Check-in",
};
const DAY_NAMES = ["", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

let plan = null;

/** The browser's own IANA zone (what "this device's time zone" is). */
export const deviceZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

const sameZones = new Map();

/** A zone's UTC offset at `date`, as Intl writes it ("GMT+01:00"); null when it cannot. */
function offsetAt(zone, date) {
  try {
    const format = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" });
    const parts = format.formatToParts(date);
    return parts.find((part) => part.type === "timeZoneName")?.value ?? null;
  } catch {
    return null;
  }
}

/**
 * Whether two IANA zone names keep the same clock: the same name, or aliases ("Etc/UTC" and
 * "UTC", "Asia/Calcutta" and "Asia/Kolkata"), or zones whose UTC offset is the same now and on
 * every day of the coming year (Europe/Berlin and Europe/Paris): plan times read the same on
 * either. A zone this browser does not know is the same only as itself.
 */
export function sameZone(a, b) {
  if (a === b) return true;
  if (!a || !b) return false;
  const key = `${a}|${b}`;
  if (!sameZones.has(key)) {
    let same = true;
    const now = Date.now();
    for (let day = 0; day <= 366 && same; day += 1) {
      const at = new Date(now + day * 86400 * 1000);
      const offset = offsetAt(a, at);
      same = offset !== null && offset === offsetAt(b, at);
    }
    sameZones.set(key, same);
  }
  return sameZones.get(key);
}

/** The day plan's IANA zone (undefined until the plan is read). */
export const planZone = () => plan?.timezone;

/**
 * A plan time (Unix s) as the page shows it: in the plan's zone, naming the zone when this
 * device is in another one (so "12:40" is never the browser's clock beside the plan's).
 */
export function formatPlanTime(unixS, options = { timeStyle: "short" }) {
  const zone = planZone();
  const when = new Date(unixS * 1000);
  if (zone && !sameZone(zone, deviceZone())) {
    try {
      return `${when.toLocaleString([], { ...options, timeZone: zone })} (${zone})`;
    } catch {
      // a zone this browser does not know (an older ICU than the service's tz database): the
      // device's own clock, named, rather than no time at all (or a page that stops)
      return `${when.toLocaleString([], options)} (this device's time, ${deviceZone()})`;
    }
  }
  return when.toLocaleString([], options);
}

function zoneOptions() {
  let zones = [];
  try {
    zones = Intl.supportedValuesOf("timeZone");
  } catch {
    // an older browser: the plan's zone and this device's
  }
  return [...new Set([plan.timezone, deviceZone(), ...zones])].sort();
}

function renderZone() {
  const select = $("workday-tz");
  if (select.dataset.zone !== plan.timezone) {
    // built again only when the zone changed (hundreds of options), never under the person's pick
    select.replaceChildren(
      ...zoneOptions().map((z) => {
        const o = document.createElement("option");
        o.value = z;
        o.textContent = z.replaceAll("_", " ");
        return o;
      }),
    );
    select.value = plan.timezone;
    select.dataset.zone = plan.timezone;
  }
  const device = deviceZone();
  const same = sameZone(device, plan.timezone);
  const button = $("workday-tz-device");
  button.hidden = same;
  button.textContent = `Use this device's time zone (${device})`;
  $("workday-tz-note").textContent = same
    ? device === plan.timezone
      ? "Plan times are in this device's time zone."
      : `Plan times are in this device's time zone (${plan.timezone}, the same clock as ${device}).`
    : `This device is in ${device}; the plan's times, and the times of check-ins and prompts on this page, are in ${plan.timezone}.`;
}

const hhmm = (t) => (t ? t.slice(0, 5) : "");
const num = (v, digits = 1) => (typeof v === "number" ? v.toFixed(digits) : "-");

function renderPlan() {
  const days = plan.working_days.map((d) => DAY_NAMES[d]).join(", ");
  const quiet = (plan.quiet_hours || []).map((q) => `${hhmm(q.start)}-${hhmm(q.end)}`).join(", ");
  $("workday-summary").textContent =
    `${days}, ${hhmm(plan.work_start)}-${hhmm(plan.work_end)} (${plan.timezone}); nothing ${quiet ? `in quiet hours (${quiet})` : "in quiet hours"} or during a break.`;
  const muted = new Set(plan.in_quiet_hours || []);
  const list = $("workday-plan");
  list.replaceChildren(
    ...plan.interventions.map((item, i) => {
      const li = document.createElement("li");
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = item.enabled;
      box.dataset.intervention = item.id;
      box.addEventListener("change", () => toggle(i, box.checked));
      const when = item.end
        ? `${hhmm(item.start)}-${hhmm(item.end)}${item.randomised ? " (random)" : ""}`
        : hhmm(item.start);
      const text = item.text || plan.default_texts[item.kind];
      const words = document.createElement("span");
      words.textContent = `${when} ${KIND_NAMES[item.kind] || item.kind}: ${text}${muted.has(item.id) ? " (in quiet hours: never sent)" : ""}`;
      label.append(box, words);
      li.append(label);
      return li;
    }),
  );
  renderZone();
  const link = $("calendar-link");
  link.href = plan.calendar_feed_url;
  link.hidden = false;
}

/** Save the plan with `change` applied; the card shows what the service kept. */
async function save(change, where = "workday-summary") {
  const body = { ...plan, ...change };
  delete body.default_texts;
  delete body.optional_checkin_items;
  delete body.calendar_feed_url;
  delete body.in_quiet_hours;
  try {
    plan = await api.request("PUT", "/dayplan", body);
    renderPlan();
    return true;
  } catch (err) {
    $(where).textContent = `Not saved: ${err.message}`;
    return false;
  }
}

function toggle(index, enabled) {
  return save({ interventions: plan.interventions.map((item, i) => (i === index ? { ...item, enabled } : item)) });
}

async function setZone(zone) {
  if (!plan || !zone || zone === plan.timezone) return;
  if (!(await save({ timezone: zone }, "workday-tz-note"))) $("workday-tz").value = plan.timezone;
  else refresh(); // "Your days" are counted in the new zone
}

function renderWebhooks(state) {
  const hooks = state.webhooks;
  if (!hooks.length) {
    $("webhook-status").textContent = "No Slack or Teams webhook set (PUT /api/v1/webhooks).";
    return;
  }
  $("webhook-status").textContent = hooks
    .map((h) => {
      const host = new URL(h.url).host;
      const last = h.last_delivery;
      const lastText = !last ? "nothing sent yet" : last.ok ? "last delivery ok" : `last delivery failed (${last.error || `HTTP ${last.status}`})`;
      return `${h.kind} (${host}): ${lastText}${h.failures ? `, ${h.failures} failed recently` : ""}`;
    })
    .join("; ");
}

function renderDashboard(out) {
  const rows = out.days.slice().reverse().map((d) => {
    const tr = document.createElement("tr");
    const breaks = d.breaks.length
      ? d.breaks.map((b) => `${b.kind} ${typeof b.rmssd_change_pct === "number" ? `${b.rmssd_change_pct > 0 ? "+" : ""}${b.rmssd_change_pct.toFixed(0)} %` : "-"}`).join(", ")
      : "-";
    const practice = (d.practice || []).length
      ? d.practice.map((x) => `${x.rmssd_first_ms.toFixed(0)} → ${x.rmssd_last_ms.toFixed(0)} ms`).join(", ")
      : "-";
    const cells = [
      d.day,
      d.n_checkins ? num(d.mean_stress) : "-",
      d.n_checkins ? num(d.mean_energy) : "-",
      typeof d.resting_rmssd_ms === "number" ? `${d.resting_rmssd_ms.toFixed(0)} ms` : "-",
      breaks,
      practice,
    ];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    return tr;
  });
  $("dashboard-table").querySelector("tbody").replaceChildren(...rows);
  $("dashboard-week").textContent = out.week.length
    ? "Did my breaks help (last 7 days): " +
      out.week.map((w) => `${w.kind} ${w.mean_rmssd_change_pct > 0 ? "+" : ""}${num(w.mean_rmssd_change_pct, 0)} % RMSSD (n = ${w.n})`).join("; ")
    : "Did my breaks help: no break with a measured effect in the last 7 days.";
}

export async function refresh() {
  if (!api.getToken()) return;
  try {
    const [p, hooks, dash] = await Promise.all([
      api.get("/dayplan"),
      api.get("/webhooks"),
      api.get("/dashboard?days=14"),
    ]);
    plan = p;
    renderPlan();
    renderWebhooks(hooks);
    renderDashboard(dash);
  } catch {
    // the service is away or the token is being asked for: the next refresh tries again
  }
}

export function init() {
  $("workday-tz").addEventListener("change", (ev) => setZone(ev.target.value));
  $("workday-tz-device").addEventListener("click", () => setZone(deviceZone()));
  refresh();
  setInterval(() => {
    if (document.visibilityState === "visible") refresh();
  }, REFRESH_MS);
}
