// Building the page: every name from the data is put on it as text (textContent), never
// as HTML, and escaped before it reaches a chart label.

export const $ = (id) => document.getElementById(id);

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

// Chart labels: Plotly reads a few HTML tags in text, so names are escaped first.
export const chartText = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

export const plural = (n, word) => `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;

export function figure(value, label, kind = "") {
  return el("div", { class: `figure ${kind}` }, el("b", { text: value.toLocaleString() }), el("span", { text: label }));
}

export const itemLink = (name, text) => el("a", { href: `#/item/${encodeURIComponent(name)}`, text: text || name });

export const storeLink = (name, text) => el("a", { href: `#/store/${encodeURIComponent(name)}`, text: text || name });

// A negative count is what a store system exports for an item sold past zero.
export const statusText = (r) => (r.count < 0 ? `oversold by ${(-r.count).toLocaleString()}` : r.status.replace(/_/g, " "));
export const coverText = (r) => (r.days_of_cover === null || r.days_of_cover === undefined ? "—" : `${r.days_of_cover.toLocaleString()} d`);

export function dollars(usd) {
  return usd < 0.01 ? `$${usd.toFixed(6)}` : `$${usd.toFixed(2)}`;
}

export function seconds(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export const errorText = (e) => `line ${e.line}: ${e.message}${e.item ? ` — item ${e.item}` : ""}`;
