// Every data call goes through here, with the bearer token kept in sessionStorage.

const TOKEN_KEY = "okr.token";

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function forget() {
  sessionStorage.removeItem(TOKEN_KEY);
}

export async function login(username, password) {
  const response = await fetch("/api/v1/auth/login", {
    method: "POST",
    body: new URLSearchParams({ username, password }),
  });
  const body = await response.json();
  if (!response.ok) throw new ApiError(response.status, body.detail || "sign-in failed");
  sessionStorage.setItem(TOKEN_KEY, body.access_token);
}

export function authHeaders(extra = {}) {
  return { Authorization: `Bearer ${token()}`, ...extra };
}

// An expired or revoked token anywhere sends the user back to the sign-in form.
let onUnauthorized = () => {};
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

export async function api(path, { method = "GET", body, headers = {} } = {}) {
  const init = { method, headers: authHeaders(headers) };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, init);
  if (response.status === 401) {
    forget();
    onUnauthorized();
  }
  if (response.status === 204) return null;
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ApiError(response.status, answer.detail || `${method} ${path}: ${response.status}`);
  }
  return answer;
}
