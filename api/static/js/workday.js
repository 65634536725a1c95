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

const hhmm = (t) => (t ? t.slice(0, 5) : "");
const num = (v, digits = 1) => (typeof v === "number" ? v.toFixed(digits) : "-");

function renderPlan() {
  const days = plan.working_days.map((d) => DAY_NAMES[d]).join(", ");
  $("workday-summary").textContent =
    `${days}, ${hhmm(plan.work_start)}-${hhmm(plan.work_end)} (${plan.timezone}); nothing in quiet hours or during a break.`;
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
      label.append(box, ` ${when} ${KIND_NAMES[item.kind] || item.kind}: ${text}`);
      li.append(label);
      return li;
    }),
  );
  const link = $("calendar-link");
  link.href = plan.calendar_feed_url;
  link.hidden = false;
}

async function toggle(index, enabled) {
  const body = { ...plan };
  delete body.default_texts;
  delete body.calendar_feed_url;
  body.interventions = plan.interventions.map((item, i) => (i === index ? { ...item, enabled } : item));
  try {
    plan = await api.request("PUT", "/dayplan", body);
    renderPlan();
  } catch (err) {
    $("workday-summary").textContent = `Not saved: ${err.message}`;
  }
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
  refresh();
  setInterval(() => {
    if (document.visibilityState === "visible") refresh();
  }, REFRESH_MS);
}
