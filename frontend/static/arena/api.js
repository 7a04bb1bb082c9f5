// The JSON API, as every page uses it: same-origin fetch, the CSRF token on writes, errors as exceptions
// carrying the server's message (which is written to be shown to the player).

export class ApiError extends Error {
  constructor(message, status, data = {}) {
    super(message);
    this.status = status;
    this.data = data; // the whole JSON answer (a refused join carries an offer of a fresh game)
  }
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    headers["X-CSRFToken"] = csrfToken();
  }
  let response;
  try {
    response = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError("The server cannot be reached. Check your connection and try again.", 0);
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ApiError(data.error || `The server answered ${response.status}.`, response.status, data);
  }
  return data;
}

export function toast(message, { ms = 4000 } = {}) {
  const box = document.querySelector(".toast");
  if (!box) return;
  box.textContent = message;
  box.hidden = false;
  clearTimeout(box._timer);
  box._timer = setTimeout(() => { box.hidden = true; }, ms);
}

export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  return appendChildren(node, children);
}

// Replaces a node's children. Like element(), it skips null, undefined and false, so optional parts can be
// written inline (`condition ? element(...) : null`); the DOM's replaceChildren would show them as text.
export function fill(node, ...children) {
  node.replaceChildren();
  return appendChildren(node, children);
}

function appendChildren(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function formatKm(km) {
  if (km === null || km === undefined) return "—";
  if (km < 1) return `${Math.round(km * 1000)} m`;
  if (km < 10) return `${km.toFixed(1)} km`;
  return `${Math.round(km).toLocaleString("en")} km`;
}

export function formatPercent(value, digits = 0) {
  return value === null || value === undefined ? "—" : `${(100 * value).toFixed(digits)}%`;
}
