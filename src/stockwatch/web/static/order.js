// The "To order" page: what to order per store, marked as ordered here (that records the
// orders), downloaded as CSV for the supplier; and the orders still open.
import { api, can, state } from "./api.js";
import { $, el, itemLink, plural, storeLink } from "./dom.js";

let lines = [];

export async function loadOrderPage() {
  const store = $("order-store").value;
  const query = store ? `?${new URLSearchParams({ store })}` : "";
  const [found, moves, open, stores] = await Promise.all([api(`/api/reorder${query}`), api(`/api/transfers${query}`),
    api("/api/orders"), api("/api/stores")]);
  lines = found;
  fillStores(stores.map((s) => s.store), store);
  drawLines();
  drawTransfers(moves);
  drawOrders(open);
}

function fillStores(names, chosen) {
  const select = $("order-store");
  if (select.options.length === names.length + 1) return;
  select.replaceChildren(el("option", { value: "", text: "All stores" }), ...names.map((n) => el("option", { value: n, text: n })));
  select.value = chosen;
}

const number = (v) => (v === null || v === undefined ? "—" : v.toLocaleString());

function drawLines() {
  const body = $("order-rows");
  body.replaceChildren();
  const toOrder = lines.filter((l) => l.suggested !== null);
  const unknown = lines.filter((l) => l.suggested === null);
  const buying = toOrder.filter((l) => l.suggested > 0);
  $("order-summary").textContent = buying.length
    ? `${plural(buying.length, "item")} to order · ${buying.reduce((n, l) => n + l.suggested, 0).toLocaleString()} units`
    : "Nothing to order right now.";
  // The SKU column only when a store system gave SKUs.
  const skus = toOrder.some((l) => l.sku);
  document.querySelectorAll(".sku-col").forEach((th) => { th.hidden = !skus; });
  let store = null;
  for (const line of toOrder) {
    if (line.store !== store) {
      store = line.store;
      body.append(el("tr", { class: "group" }, el("th", { colspan: "9" }, storeLink(store))));
    }
    const qty = el("input", { type: "number", min: "0", step: "1", value: String(line.suggested), class: "qty",
      "aria-label": `Order quantity of ${line.item} for ${line.store}` });
    const pick = el("input", { type: "checkbox", "aria-label": `Order ${line.item} for ${line.store}` });
    pick.checked = line.suggested > 0;
    body.append(el("tr", { "data-line": `${line.store}/${line.item}` },
      el("td", {}, pick), el("td", {}, itemLink(line.item)), el("td", Object.assign({ class: "muted wide-only sku-col", text: line.sku || "" }, skus ? {} : { hidden: "" })),
      el("td", { class: "num", text: number(line.on_hand) }), el("td", { class: "num wide-only", text: number(line.on_order) }),
      el("td", { class: "num wide-only", text: line.daily_demand === null ? "—" : `${line.daily_demand.toLocaleString()}/d` }),
      el("td", { class: "num wide-only", text: number(line.order_up_to) }), el("td", { class: "num" }, qty),
      el("td", { text: line.reason })));
    line.pick = pick;
    line.qty = qty;
  }
  $("order-unknown").replaceChildren(...unknown.map((l) => el("li", {}, `${l.store} / `, itemLink(l.item), ` — ${l.reason}`)));
  $("order-unknown-panel").hidden = unknown.length === 0;
  $("mark-ordered").hidden = !can("order") || toOrder.length === 0;
}

function drawTransfers(moves) {
  const body = $("transfer-rows");
  body.replaceChildren(...moves.map((m) => el("tr", {},
    el("td", {}, itemLink(m.item)), el("td", {}, storeLink(m.from)), el("td", {}, storeLink(m.to)),
    el("td", { class: "num", text: m.quantity.toLocaleString() }))));
  $("transfer-panel").hidden = moves.length === 0;
}

function drawOrders(open) {
  const body = $("open-order-rows");
  body.replaceChildren();
  if (!open.length) body.append(el("tr", {}, el("td", { colspan: "6", class: "muted", text: "No open orders." })));
  for (const o of open) {
    body.append(el("tr", { "data-order": o.id },
      el("td", { text: o.store }), el("td", {}, itemLink(o.item)), el("td", { class: "num", text: o.quantity.toLocaleString() }),
      el("td", { class: "wide-only", text: o.expected || "—" }),
      el("td", { class: "wide-only", text: new Date(o.placed_at).toLocaleDateString() }),
      el("td", {}, can("order") ? el("button", { type: "button", class: "small quiet", text: "Received",
        onclick: () => received(o) }) : "")));
  }
}

async function received(order) {
  try {
    await api(`/api/orders/${encodeURIComponent(order.id)}/receive`, { method: "POST" });
    $("order-status").textContent = `Received ${order.quantity.toLocaleString()} × ${order.item} for ${order.store}.`;
  } catch (err) {
    $("order-status").textContent = `Not changed: ${err.message}`;
  }
  await loadOrderPage();
}

async function markOrdered() {
  const chosen = lines.filter((l) => l.pick && l.pick.checked && Number(l.qty.value) > 0)
    .map((l) => ({ store: l.store, item: l.item, quantity: Math.round(Number(l.qty.value)) }));
  if (!chosen.length) return;
  try {
    await api("/api/orders", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(chosen) });
    $("order-status").textContent = `Recorded ${plural(chosen.length, "order")}: they count as on order until they arrive.`;
  } catch (err) {
    $("order-status").textContent = `Not recorded: ${err.message}`;
  }
  await loadOrderPage();
}

async function downloadOrder() {
  const store = $("order-store").value;
  const headers = state.token ? { Authorization: `Bearer ${state.token}` } : {};
  const response = await fetch(`/api/reorder.csv${store ? `?${new URLSearchParams({ store })}` : ""}`, { headers });
  if (!response.ok) return;
  const link = el("a", { href: URL.createObjectURL(await response.blob()) });
  link.download = `order-${(store || "all").replace(/[^A-Za-z0-9._-]+/g, "_")}.csv`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

export function setUpOrderPage() {
  $("order-store").addEventListener("change", () => loadOrderPage().catch(console.warn));
  $("mark-ordered").addEventListener("click", () => markOrdered().catch(console.warn));
  $("download-order").addEventListener("click", () => downloadOrder().catch(console.warn));
}
