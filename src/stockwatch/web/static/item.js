// An item's page: its count and days of cover in every store.
import { api } from "./api.js";
import { $, coverText, el, plural, statusText, storeLink } from "./dom.js";

export async function loadItem(item) {
  $("item-name").textContent = item;
  const rows = await api(`/api/item?${new URLSearchParams({ name: item })}`);
  const body = $("item-rows");
  body.replaceChildren();
  const out = rows.filter((r) => r.status === "out_of_stock").length;
  const total = rows.reduce((n, r) => n + r.count, 0);
  const skus = [...new Set(rows.map((r) => r.sku).filter(Boolean))];
  const sku = skus.length ? ` · SKU ${skus.join(", ")}` : "";
  $("item-summary").textContent = rows.length
    ? `${total.toLocaleString()} in ${plural(rows.length, "store")} · ${out} out of stock${sku}`
    : "No store has this item.";
  for (const r of rows) {
    body.append(el("tr", { class: r.status },
      el("td", {}, storeLink(r.store)), el("td", { class: "num", text: r.count.toLocaleString() }),
      el("td", { text: statusText(r) }), el("td", { class: "num", text: coverText(r) }),
      el("td", { text: r.runs_out_on || "—" })));
  }
}
