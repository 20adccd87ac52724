// The overview: store cards, the figures, open alerts, and "Where is it?".
import { alertBadge, alertText } from "./alert-text.js";
import { api } from "./api.js";
import { $, el, figure, itemLink, plural, storeLink, when } from "./dom.js";

export async function loadStores() {
  // Running out is an open alert of its own kind; a store's figures count out and low.
  const [stores, running] = await Promise.all([
    api("/api/stores"), api("/api/alerts?state=open&kind=running_out&limit=500")]);
  const runningIn = {};
  for (const a of running) runningIn[a.store] = (runningIn[a.store] || 0) + 1;
  const grid = $("stores");
  grid.replaceChildren();
  if (!stores.length) grid.append(el("p", { class: "muted", text: "No stock yet: upload a file below." }));
  let items = 0, out = 0, low = 0;
  for (const s of stores) {
    items += s.items; out += s.out_of_stock; low += s.low_stock;
    const badges = el("div", { class: "badges" });
    if (s.out_of_stock) badges.append(el("span", { class: "badge out", text: `${s.out_of_stock} out of stock` }));
    if (s.low_stock) badges.append(el("span", { class: "badge low", text: `${s.low_stock} low` }));
    const short = runningIn[s.store] || 0;
    if (short) badges.append(el("span", { class: "badge running", text: `${short} running out` }));
    if (!s.out_of_stock && !s.low_stock && !short) badges.append(el("span", { class: "badge", text: "all stocked" }));
    const card = el("a", { class: "store-card" + (s.out_of_stock ? " has-out" : s.low_stock || short ? " has-low" : ""),
                           href: `#/store/${encodeURIComponent(s.store)}`, "data-store": s.store },
      el("h3", { text: s.store }), badges,
      el("small", { class: "muted", text: `${plural(s.items, "item")} · updated ${when(s.updated_at)}` }));
    grid.append(card);
  }
  $("summary").replaceChildren(
    figure(stores.length, "stores"), figure(items, "items tracked"),
    figure(out, "out of stock", "out"), figure(low, "low on stock", "low"),
    figure(running.length, "running out", "low"));
}

export async function loadAlerts() {
  const alerts = await api("/api/alerts?open=true&limit=500");
  $("open-count").textContent = alerts.length >= 500 ? "(500+)" : `(${alerts.length.toLocaleString()})`;
  const list = $("alerts");
  list.replaceChildren();
  if (!alerts.length) list.append(el("li", { class: "muted", text: "Nothing needs attention." }));
  for (const a of alerts) {
    const extra = el("small", { class: "muted", text: when(a.raised_at) });
    const line = el("span", { class: "grow" }, storeLink(a.store, alertText(a)));
    if (a.muted_until) line.append(el("span", { class: "tag", text: "muted" }));
    if (a.acknowledged_by) line.append(el("span", { class: "tag", text: `ack ${a.acknowledged_by}` }));
    list.append(el("li", {}, alertBadge(a), line, extra));
  }
}

let findTimer = null;

export function scheduleFind() {
  clearTimeout(findTimer);
  findTimer = setTimeout(() => find().catch(console.warn), 200);
}

export async function find() {
  const needle = $("find").value.trim();
  const list = $("find-results");
  list.replaceChildren();
  if (!needle) return;
  const page = await api(`/api/stock?${new URLSearchParams({ q: needle, limit: "200" })}`);
  const byItem = new Map();
  const wanted = needle.toLowerCase();
  for (const r of page.rows) {
    // The API also matches store names; here an item is found by its name or its SKU.
    if (!r.item.toLowerCase().includes(wanted) && !(r.sku || "").toLowerCase().includes(wanted)) continue;
    if (!byItem.has(r.item)) byItem.set(r.item, []);
    byItem.get(r.item).push(r);
  }
  if (!byItem.size) list.append(el("li", { class: "muted", text: `No item or SKU matches “${needle}”.` }));
  for (const [item, rows] of [...byItem].slice(0, 20)) {
    const inStock = rows.filter((r) => r.count > 0);
    const where = inStock.length
      ? `in stock in ${inStock.map((r) => `${r.store} (${r.count.toLocaleString()})`).join(", ")}`
      : "out of stock everywhere";
    const skus = [...new Set(rows.map((r) => r.sku).filter(Boolean))];
    const sku = skus.length ? ` (SKU ${skus.join(", ")})` : "";
    list.append(el("li", {}, itemLink(item), el("span", { class: "muted", text: `${sku} — ${where}` })));
  }
}
