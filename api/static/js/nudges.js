// Nudges that reach a person working in another window: a system notification (permission is
// asked once, on a click, with the reason), a badge in the tab's title until the page is seen,
// and an optional soft chime. The page's own sound settings (chime, breathing cues) live here
// too. Settings are kept in localStorage: they are the person's, not the session's.

const $ = (id) => document.getElementById(id);

const KEY = "hrvpace.settings";
const DEFAULTS = { chime: false, cues: false };
const BASE_TITLE = document.title;

let unseen = 0;
let audio = null;

/** The page's settings ({chime, cues}), defaults for anything not stored. */
export function settings() {
  try {
    return { ...DEFAULTS, ...JSON.parse(localStorage.getItem(KEY) || "{}") };
  } catch {
    return { ...DEFAULTS };
  }
}

function save(name, value) {
  const next = { ...settings(), [name]: value };
  try {
    localStorage.setItem(KEY, JSON.stringify(next));
  } catch {
    // storage disabled: the setting holds for this page only
  }
}

function notificationsSupported() {
  return "Notification" in window;
}

/** What the page can do about a break due while it is hidden, in the person's words. */
function describePermission() {
  if (!notificationsSupported()) {
    return "This browser cannot show system notifications: breaks appear only on this page.";
  }
  if (Notification.permission === "granted") {
    return "Break alerts are on: a due break shows as a system notification when this tab is in the background.";
  }
  if (Notification.permission === "denied") {
    return "Notifications are blocked for this page: breaks appear only here and in the tab title. Allow them in the browser's site settings to get alerts.";
  }
  return "Without alerts you only see a due break while this page is in front (the tab title shows a badge).";
}

function renderPermission() {
  $("notify-status").textContent = describePermission();
  const ask = $("notify-enable");
  ask.hidden = !notificationsSupported() || Notification.permission !== "default";
}

function updateTitle() {
  document.title = unseen ? `(${unseen}) Break due - ${BASE_TITLE}` : BASE_TITLE;
  document.documentElement.dataset.unseen = String(unseen);
}

/** The person has seen what was pending (the page is in front). */
export function markSeen() {
  if (!unseen) return;
  unseen = 0;
  updateTitle();
}

function context() {
  if (!audio) {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    audio = new Ctx();
  }
  if (audio.state === "suspended") audio.resume().catch(() => {});
  return audio;
}

/** A short, soft sine tone (fades in and out, no click). */
export function tone(freqHz, seconds = 0.35, volume = 0.12) {
  const ctx = context();
  if (!ctx) return;
  const t0 = ctx.currentTime;
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.type = "sine";
  osc.frequency.value = freqHz;
  gain.gain.setValueAtTime(0, t0);
  gain.gain.linearRampToValueAtTime(volume, t0 + 0.04);
  gain.gain.exponentialRampToValueAtTime(0.0001, t0 + seconds);
  osc.connect(gain).connect(ctx.destination);
  osc.start(t0);
  osc.stop(t0 + seconds + 0.05);
}

function chime() {
  tone(660, 0.5);
  setTimeout(() => tone(880, 0.7), 180);
}

/** A breathing cue at a turn of the pacer: higher going in, lower going out. */
export function cue(stage) {
  if (!settings().cues) return;
  if (stage === "inhale") tone(520, 0.25, 0.08);
  else if (stage === "exhale") tone(390, 0.25, 0.08);
}

/**
 * Tell the person something that needs them (a break is due, a prompt): a system
 * notification when the page is hidden and allowed to, a title badge until seen, a chime
 * when turned on. `onOpen` runs when the notification is clicked (after the tab is focused).
 */
export function nudge({ title, body, tag, onOpen }) {
  const hidden = document.visibilityState !== "visible";
  if (hidden || !document.hasFocus()) {
    unseen += 1;
    updateTitle();
  }
  if (settings().chime) chime();
  // Hidden (another tab, minimised) or merely behind another window (not focused: many window
  // systems keep a covered window "visible"), a system notification is what reaches the person.
  const away = hidden || !document.hasFocus();
  if (!away || !notificationsSupported() || Notification.permission !== "granted") return null;
  try {
    const n = new Notification(title, { body, tag, renotify: true });
    n.onclick = () => {
      window.focus();
      n.close();
      markSeen();
      if (onOpen) onOpen();
    };
    return n;
  } catch {
    return null; // e.g. a browser that allows notifications only from a service worker
  }
}

/**
 * The pacer's stage label ("Breathe in", "Breathe out") is a polite live region only with the
 * breathing cues on: a screen reader then says each turn of the breath (about 12 a minute),
 * which nobody who did not ask for cues should hear for the whole practice.
 */
function announceStages() {
  const label = $("pacer-label");
  if (label) label.setAttribute("aria-live", settings().cues ? "polite" : "off");
}

export function init() {
  const chimeBox = $("setting-chime");
  const cuesBox = $("setting-cues");
  const s = settings();
  chimeBox.checked = s.chime;
  cuesBox.checked = s.cues;
  chimeBox.addEventListener("change", () => {
    save("chime", chimeBox.checked);
    if (chimeBox.checked) chime(); // hear what was chosen (and unlock audio on this gesture)
  });
  announceStages();
  cuesBox.addEventListener("change", () => {
    save("cues", cuesBox.checked);
    announceStages();
    if (cuesBox.checked) cue("inhale");
  });
  $("notify-enable").addEventListener("click", async () => {
    if (!notificationsSupported()) return;
    try {
      await Notification.requestPermission();
    } catch {
      // older browsers take a callback; the status below says what we ended up with
    }
    renderPermission();
  });
  const seen = () => {
    if (document.visibilityState === "visible") markSeen();
  };
  document.addEventListener("visibilitychange", seen);
  window.addEventListener("focus", seen);
  renderPermission();
}
