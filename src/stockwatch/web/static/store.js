// A store's page: its chart, its stock table and an item's history.
import { api, state } from "./api.js";
import { plotly } from "./charts.js";
import { $, chartText, coverText, el, plural, statusText, when } from "./dom.js";

export async function loadStore(store) {
  state.store = store;
  $("store-name").textContent = store;
  const rows = [];
  let cursor = null;
  do {
    const query = new URLSearchParams({ store, limit: "500" });
    if (cursor) query.set("cursor", cursor);
    const page = await api(`/api/stock?${query}`);
    rows.push(...page.rows);
    cursor = page.next_cursor;
  } while (cursor && rows.length < 5000);
  if (state.store !== store) return;
  state.rows = rows;
  const out = rows.filter((r) => r.status === "out_of_stock").length;
  const low = rows.filter((r) => r.status === "low_stock").length;
  const running = rows.filter((r) => r.status === "running_out").length;
  $("store-summary").textContent =
    `${plural(rows.length, "item")} · ${out} out of stock · ${low} low on stock · ${running} running out`;
  drawStoreChart(rows).catch(console.warn);
  drawStockTable();
}

const COLOURS = { out_of_stock: "#d92d20", low_stock: "#dc6803", running_out: "#f79009", ok: "#2e90fa" };

async function drawStoreChart(rows) {
  const Plotly = await plotly();
  // Emptiest first: what needs attention stands at the left.
  const shown = [...rows].sort((a, b) => a.count - b.count || (a.item > b.item ? 1 : -1)).slice(0, 300);
  const empty = shown.filter((r) => r.count === 0);
  Plotly.react($("store-chart"), [{
    type: "bar", x: shown.map((r) => chartText(r.item)), y: shown.map((r) => r.count),
    marker: { color: shown.map((r) => COLOURS[r.status]) },
    hovertemplate: "%{x}: %{y}<extra></extra>", showlegend: false,
  }, {
    // A zero-height bar is invisible, so out-of-stock items get a marker on the axis.
    type: "scatter", mode: "markers", x: empty.map((r) => chartText(r.item)), y: empty.map(() => 0),
    marker: { color: COLOURS.out_of_stock, symbol: "x", size: 14 }, name: "out of stock",
    hovertemplate: "%{x}: out of stock<extra></extra>", showlegend: false, cliponaxis: false,
  }], {
    margin: { t: 10, r: 10, b: 90, l: 50 }, yaxis: { title: { text: "count" }, rangemode: "tozero" },
    xaxis: { automargin: true }, paper_bgcolor: "#fff", plot_bgcolor: "#fff",
  }, { displayModeBar: false, responsive: true });
}

export function drawStockTable() {
  const needle = $("item-search").value.trim().toLowerCase();
  const problems = $("only-problems").checked;
  const [key, direction] = state.sort;
  const rows = state.rows
    .filter((r) => !needle || r.item.toLowerCase().includes(needle) || (r.sku || "").toLowerCase().includes(needle))
    .filter((r) => !problems || r.status !== "ok")
    .sort((a, b) => {
      const x = a[key], y = b[key];
      if (x === null || x === undefined) return y === null || y === undefined ? 0 : 1; // unknown last
      if (y === null || y === undefined) return -1;
      return (x > y ? 1 : x < y ? -1 : 0) * direction;
    });
  const body = $("stock-rows");
  body.replaceChildren();
  for (const r of rows) {
    body.append(el("tr", { class: `${r.status} clickable`, "data-item": r.item, onclick: () => loadHistory(r.item) },
      el("td", {}, r.item, r.sku ? el("span", { class: "sku muted", text: ` ${r.sku}` }) : ""),
      el("td", { class: "num", text: r.count.toLocaleString() }),
      el("td", { text: statusText(r) }),
      el("td", { class: "num", title: r.runs_out_on ? `runs out about ${r.runs_out_on}` : "not enough history", text: coverText(r) }),
      el("td", { class: "wide-only", text: when(r.updated_at) })));
  }
  document.querySelectorAll("th[data-sort]").forEach((th) => {
    th.classList.toggle("asc", th.dataset.sort === key && direction === 1);
    th.classList.toggle("desc", th.dataset.sort === key && direction === -1);
  });
}

async function loadHistory(item) {
  const points = await api(`/api/history?store=${encodeURIComponent(state.store)}&item=${encodeURIComponent(item)}`);
  $("history-panel").hidden = false;
  $("history-title").textContent = `${item}: count over time`;
  const Plotly = await plotly();
  // Counts are placed at the time they were taken (as-of), on a date axis; one point gets
  // a day either side, or Plotly would spread a single moment over milliseconds.
  const x = points.map((p) => p.as_of || p.changed_at);
  const xaxis = { type: "date", tickformat: "%b %d", automargin: true };
  if (x.length === 1) {
    const t = new Date(x[0]).getTime();
    xaxis.range = [new Date(t - 86400000).toISOString(), new Date(t + 86400000).toISOString()];
  }
  Plotly.react($("history-chart"), [{
    type: "scatter", mode: points.length > 1 ? "lines+markers" : "markers", line: { shape: "hv" },
    x, y: points.map((p) => p.count), hovertemplate: "%{x|%b %d %H:%M}: %{y}<extra></extra>",
  }], { margin: { t: 10, r: 10, b: 40, l: 50 }, yaxis: { rangemode: "tozero" }, xaxis },
  { displayModeBar: false, responsive: true });
}
