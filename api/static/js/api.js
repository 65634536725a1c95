// The service's REST and WebSocket API, with the token kept for the browser session.
//
// The token comes from the URL (`#token=...` as `hrvpace demo` prints it, or `?token=...`), or
// from the user once; it is kept in sessionStorage (gone when the tab closes) and removed from
// the address bar so it does not end up in the history or a shared screenshot.

const TOKEN_KEY = "hrvpace.token";
export const API = "/api/v1";

export class ApiError extends Error {
  /** `code`: the problem's stable code (application/problem+json `code`, e.g.
   * `session_not_running`), or null when the answer had none. */
  constructor(status, detail, code = null) {
    super(typeof detail === "string" ? detail : describeDetail(detail) || `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
    this.code = code;
  }
}

/** What the page says when no answer comes at all (the browser's "Failed to fetch"). */
export const UNREACHABLE = "the hrvpace service on this computer is not reachable (is it running?)";

/** The service could not be reached (not running, restarting): no HTTP answer at all. */
export class UnreachableError extends Error {
  constructor() {
    super(UNREACHABLE);
    this.unreachable = true;
  }
}

// Told whenever a request gets an answer (true) or none at all (false): the page shows the
// service as away and recovers once it answers again (app.js).
const reachListeners = [];
export function onReachability(fn) {
  reachListeners.push(fn);
}
function reached(up) {
  for (const fn of reachListeners) fn(up);
}

/** The problem's `code` of an error answer's body, if it has one. */
function problemCode(data) {
  return data && typeof data === "object" && typeof data.code === "string" ? data.code : null;
}

function describeDetail(detail) {
  // FastAPI validation errors: [{loc: [...], msg: "..."}]
  if (Array.isArray(detail)) {
    return detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
  }
  return detail ? JSON.stringify(detail) : "";
}

/** Take a token from the URL into sessionStorage; strip it from the address bar. */
export function adoptTokenFromUrl(loc = window.location) {
  const hash = new URLSearchParams(loc.hash.replace(/^#/, ""));
  const query = new URLSearchParams(loc.search);
  const token = hash.get("token") || query.get("token");
  if (token) {
    setToken(token);
    hash.delete("token");
    query.delete("token");
    const q = query.toString();
    const h = hash.toString();
    history.replaceState(null, "", loc.pathname + (q ? `?${q}` : "") + (h ? `#${h}` : ""));
  }
  return getToken();
}

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token.trim());
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** fetch() a JSON endpoint with the bearer token; throws ApiError on a non-2xx answer.
 *
 * `timeoutMs`: give up on a request not answered (its body read) within that long: it is
 * aborted and throws an Error ("no answer from the service in N s"), without a status, as a
 * network failure does. None by default: an export or a report may take long. */
export async function request(method, path, body, { timeoutMs } = {}) {
  const headers = { Accept: "application/json" };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let timer = null;
  if (timeoutMs) {
    const controller = new AbortController();
    init.signal = controller.signal;
    timer = setTimeout(() => controller.abort(), timeoutMs);
  }
  let res;
  let text;
  try {
    res = await fetch(API + path, init);
    text = await res.text();
  } catch (err) {
    if (init.signal && init.signal.aborted) {
      throw new Error(`no answer from the service in ${timeoutMs / 1000} s`);
    }
    if (err instanceof TypeError) {
      // fetch's network failure: nothing answered (the service is down or restarting)
      reached(false);
      throw new UnreachableError();
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  reached(true);
  if (!res.ok) throw new ApiError(res.status, data && data.detail !== undefined ? data.detail : data, problemCode(data));
  return data;
}

/** POST a multipart form (a file upload) with the bearer token; throws ApiError like request(). */
export async function upload(path, formData) {
  const headers = { Accept: "application/json" };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(API + path, { method: "POST", headers, body: formData });
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    reached(false);
    throw new UnreachableError();
  }
  reached(true);
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data && data.detail !== undefined ? data.detail : data, problemCode(data));
  return data;
}

export const get = (path) => request("GET", path);
export const post = (path, body, options) => request("POST", path, body ?? {}, options);
export const patch = (path, body) => request("PATCH", path, body ?? {});

/** The live WebSocket of a session. Browsers send no Authorization header on a WebSocket, so
 * the token goes as a subprotocol (`bearer.<token>`, next to `hrvpace.v1`, which the service
 * echoes): it stays out of the URL and so out of logs and history. */
export function liveSocket(sessionId) {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const url = `${scheme}://${window.location.host}${API}/sessions/${encodeURIComponent(sessionId)}/live`;
  const token = getToken() || "";
  if (!/^[A-Za-z0-9._~!#$%&'*+^`|-]*$/.test(token)) {
    // a hand-set token with characters a subprotocol cannot carry: the query, as before
    return new WebSocket(`${url}?token=${encodeURIComponent(token)}`);
  }
  return new WebSocket(url, ["hrvpace.v1", `bearer.${token}`]);
}
