// The stockwatch dashboard. Every name from the data is put on the page as text
// (textContent), never as HTML, and is escaped before it reaches a chart label.
"use strict";

const state = { token: localStorage.getItem("stockwatch-token") || "", rows: [], sort: ["item", 1],
                store: null, openReports: new Set() };
const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
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
const chartText = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");
const plural = (n, word) => `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) {
    await askForToken();
    return api(path, options);
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.message || `HTTP ${response.status}`);
  return body;
}

async function downloadCsv() {
  // A plain link cannot send the token, so fetch the file and hand it over as a blob.
  const headers = state.token ? { Authorization: `Bearer ${state.token}` } : {};
  const response = await fetch(`/api/stock.csv?store=${encodeURIComponent(state.store)}`, { headers });
  if (response.status === 401) { await askForToken(); return downloadCsv(); }
  if (!response.ok) return;
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = `stock-${state.store.replace(/[^A-Za-z0-9._-]+/g, "_")}.csv`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

function askForToken() {
  // Several requests may be refused at once; they all wait for the same answer.
  if (!state.tokenPrompt) {
    state.tokenPrompt = new Promise((resolve) => {
      $("token-form").onsubmit = () => {
        state.token = $("token-input").value.trim();
        localStorage.setItem("stockwatch-token", state.token);
        state.tokenPrompt = null;
        connectEvents();
        resolve();
      };
      const dialog = $("token-dialog");
      if (!dialog.open) dialog.showModal();
    });
  }
  return state.tokenPrompt;
}

// --- overview -------------------------------------------------------------------------

async function loadStores() {
  const stores = await api("/api/stores");
  const grid = $("stores");
  grid.replaceChildren();
  if (!stores.length) grid.append(el("p", { class: "muted", text: "No stock yet: upload a file below." }));
  let items = 0, out = 0, low = 0;
  for (const s of stores) {
    items += s.items; out += s.out_of_stock; low += s.low_stock;
    const badges = el("div", { class: "badges" });
    if (s.out_of_stock) badges.append(el("span", { class: "badge out", text: `${s.out_of_stock} out of stock` }));
    if (s.low_stock) badges.append(el("span", { class: "badge low", text: `${s.low_stock} low` }));
    if (!s.out_of_stock && !s.low_stock) badges.append(el("span", { class: "badge", text: "all stocked" }));
    const card = el("a", { class: "store-card" + (s.out_of_stock ? " has-out" : s.low_stock ? " has-low" : ""),
                           href: `#/store/${encodeURIComponent(s.store)}`, "data-store": s.store },
      el("h3", { text: s.store }), badges,
      el("small", { class: "muted", text: `${plural(s.items, "item")} · updated ${when(s.updated_at)}` }));
    grid.append(card);
  }
  $("summary").replaceChildren(
    figure(stores.length, "stores"), figure(items, "items tracked"),
    figure(out, "out of stock", "out"), figure(low, "low on stock", "low"));
}

function figure(value, label, kind = "") {
  return el("div", { class: `figure ${kind}` }, el("b", { text: value.toLocaleString() }), el("span", { text: label }));
}

async function loadAlerts() {
  const alerts = await api("/api/alerts?open=true&limit=100");
  const list = $("alerts");
  list.replaceChildren();
  if (!alerts.length) list.append(el("li", { class: "muted", text: "Nothing needs attention." }));
  for (const a of alerts) {
    const label = a.kind === "out_of_stock" ? `${a.store} is out of stock of ${a.item}`
      : `${a.store} is low on ${a.item}: ${a.count} left (minimum ${a.minimum})`;
    list.append(el("li", {},
      el("span", { class: `badge ${a.kind === "out_of_stock" ? "out" : "low"}`, text: a.kind === "out_of_stock" ? "out" : "low" }),
      el("span", { text: label }), el("small", { class: "muted", text: when(a.raised_at) })));
  }
}

async function loadUploads() {
  const page = await api("/api/uploads?limit=20");
  const body = $("uploads");
  body.replaceChildren();
  if (!page.uploads.length) body.append(el("tr", {}, el("td", { colspan: "7", class: "muted", text: "No uploads yet." })));
  for (const u of page.uploads) {
    const row = el("tr", { class: "clickable", "data-upload": u.id, onclick: () => toggleReport(u.id) },
      el("td", { text: u.id }), el("td", { text: u.file }),
      el("td", {}, el("span", { class: `status ${u.status}`, text: u.status.replace(/_/g, " ") })),
      el("td", { class: "num", text: u.rows_loaded.toLocaleString() }),
      el("td", { class: "num", text: u.rows_rejected.toLocaleString() }),
      el("td", { class: "num", text: costText(u.cost) }),
      el("td", { text: when(u.received_at) }));
    body.append(row);
    if (state.openReports.has(u.id)) body.append(reportRow(u));
  }
  await loadCosts();
}

function dollars(usd) {
  return usd < 0.01 ? `$${usd.toFixed(6)}` : `$${usd.toFixed(2)}`;
}

function seconds(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function costText(cost) {
  if (!cost) return "";
  return cost.usd === null || cost.usd === undefined ? seconds(cost.time_ms) : dollars(cost.usd);
}

async function loadCosts() {
  const days = await api("/api/costs?days=7");
  const body = $("costs");
  body.replaceChildren();
  if (!days.length) body.append(el("tr", {}, el("td", { colspan: "5", class: "muted", text: "No uploads in the last 7 days." })));
  let total = 0, totalMs = 0;
  const running = [...days].reverse().map((d) => { total += d.usd || 0; totalMs += d.time_ms; return [total, totalMs]; }).reverse();
  days.forEach((d, n) => {
    const billed = d.usd !== null && d.usd !== undefined;
    body.append(el("tr", {},
      el("td", { text: d.day }), el("td", { class: "num", text: d.uploads.toLocaleString() }),
      el("td", { class: "num", text: seconds(d.time_ms) }),
      el("td", { class: "num", text: billed ? dollars(d.usd) : "—" }),
      el("td", { class: "num", text: billed ? dollars(running[n][0]) : seconds(running[n][1]) })));
  });
}

function toggleReport(id) {
  if (state.openReports.has(id)) state.openReports.delete(id); else state.openReports.add(id);
  loadUploads();
}

function costDetail(c) {
  const parts = [`processing ${seconds(c.time_ms)}`];
  const requests = Object.values(c.dynamodb.requests).reduce((a, b) => a + b, 0);
  if (requests) parts.push(`DynamoDB ${requests} requests, ${c.dynamodb.write_units} write and ${c.dynamodb.read_units} read units`);
  const s3 = Object.values(c.s3.requests).reduce((a, b) => a + b, 0);
  if (s3) parts.push(`S3 ${s3} requests`);
  if (c.sns.publishes) parts.push(`SNS ${c.sns.publishes} publishes`);
  if (c.lambda.invocations) parts.push(`Lambda ${c.lambda.invocations}× ${Math.round(c.lambda.ms)} ms`);
  if (c.usd !== null && c.usd !== undefined) parts.push(`about ${dollars(c.usd)} on demand`);
  return `Cost: ${parts.join(" · ")}`;
}

function reportRow(u) {
  const cell = el("td", { colspan: "7" });
  const parts = [`${plural(u.rows_loaded, "row")} loaded`, `${u.rows_unchanged.toLocaleString()} unchanged`];
  if (u.rows_superseded) parts.push(`${u.rows_superseded.toLocaleString()} superseded by newer uploads`);
  parts.push(`${u.rows_rejected.toLocaleString()} rejected`, plural(u.alerts_total, "alert"));
  cell.append(el("div", { text: parts.join(" · ") }));
  if (u.message) cell.append(el("p", { class: "status rejected", text: u.message }));
  if (u.errors.length) {
    const list = el("ul");
    for (const e of u.errors) list.append(el("li", { text: `line ${e.line}: ${e.message}` }));
    cell.append(list);
  }
  for (const w of u.warnings) cell.append(el("p", { class: "muted", text: w }));
  if (u.cost) cell.append(el("p", { class: "muted", text: costDetail(u.cost) }));
  return el("tr", { class: "report" }, cell);
}

// --- store page -----------------------------------------------------------------------

async function loadStore(store) {
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
  $("store-summary").textContent = `${plural(rows.length, "item")} · ${out} out of stock · ${low} low on stock`;
  drawStoreChart(rows);
  drawStockTable();
}

const COLOURS = { out_of_stock: "#d92d20", low_stock: "#dc6803", ok: "#2e90fa" };

function drawStoreChart(rows) {
  if (!window.Plotly) return;
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

function drawStockTable() {
  const needle = $("item-search").value.trim().toLowerCase();
  const problems = $("only-problems").checked;
  const [key, direction] = state.sort;
  const rows = state.rows
    .filter((r) => !needle || r.item.toLowerCase().includes(needle))
    .filter((r) => !problems || r.status !== "ok")
    .sort((a, b) => (a[key] > b[key] ? 1 : a[key] < b[key] ? -1 : 0) * direction);
  const body = $("stock-rows");
  body.replaceChildren();
  for (const r of rows) {
    body.append(el("tr", { class: `${r.status} clickable`, "data-item": r.item, onclick: () => loadHistory(r.item) },
      el("td", { text: r.item }), el("td", { class: "num", text: r.count.toLocaleString() }),
      el("td", { text: r.status.replace(/_/g, " ") }), el("td", { text: when(r.updated_at) })));
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
  if (!window.Plotly) return;
  Plotly.react($("history-chart"), [{
    type: "scatter", mode: "lines+markers", line: { shape: "hv" },
    x: points.map((p) => p.changed_at), y: points.map((p) => p.count),
  }], { margin: { t: 10, r: 10, b: 40, l: 50 }, yaxis: { rangemode: "tozero" } },
  { displayModeBar: false, responsive: true });
}

// --- uploads --------------------------------------------------------------------------

function setUpFileInput() {
  const zone = $("drop-zone"), input = $("file-input"), button = $("upload-button");
  const chosen = () => { button.disabled = !input.files.length;
    zone.querySelector("span").textContent = input.files.length ? input.files[0].name : "Drop a CSV file here, or click to choose one"; };
  input.addEventListener("change", chosen);
  for (const name of ["dragenter", "dragover"]) zone.addEventListener(name, (e) => { e.preventDefault(); zone.classList.add("dragging"); });
  for (const name of ["dragleave", "drop"]) zone.addEventListener(name, () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (e) => { e.preventDefault(); input.files = e.dataTransfer.files; chosen(); });
  $("upload-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!input.files.length) return;
    const data = new FormData();
    data.append("file", input.files[0]);
    button.disabled = true;
    $("upload-status").textContent = `Uploading ${input.files[0].name}…`;
    try {
      const queued = await api("/api/uploads", { method: "POST", body: data });
      $("upload-status").textContent = `Upload ${queued.id} received; processing…`;
      state.openReports.add(queued.id);
      state.waitingFor = queued.id;
      input.value = ""; chosen();
      // It may have finished before we started listening for it.
      showFinished(await api(`/api/uploads/${encodeURIComponent(queued.id)}`));
    } catch (err) {
      $("upload-status").textContent = `Upload failed: ${err.message}`;
      button.disabled = false;
    }
  });
}

function showFinished(upload) {
  if (upload.id !== state.waitingFor || ["queued", "processing"].includes(upload.status)) return;
  $("upload-status").textContent = `Upload ${upload.id}: ${upload.status.replace(/_/g, " ")}, ` +
    `${plural(upload.rows_loaded, "row")} loaded, ${upload.rows_rejected} rejected.`;
  state.waitingFor = null;
}

// --- live updates ---------------------------------------------------------------------

let events = null;
const pending = new Set();
let flushTimer = null;

function schedule(what) {
  pending.add(what);
  if (!flushTimer) flushTimer = setTimeout(flush, 150);
}

async function flush() {
  flushTimer = null;
  const work = [...pending];
  pending.clear();
  try {
    if (work.includes("uploads")) await loadUploads();
    if (work.includes("stock")) { await loadStores(); if (state.store) await loadStore(state.store); }
    if (work.includes("alerts")) await loadAlerts();
  } catch (err) { console.warn(err); }
}

function connectEvents() {
  if (events) events.close();
  const query = state.token ? `?token=${encodeURIComponent(state.token)}` : "";
  events = new EventSource(`/api/events${query}`);
  events.addEventListener("hello", () => { state.everLive = true; $("live").textContent = "live"; $("live").classList.add("on"); });
  events.addEventListener("upload", (e) => {
    showFinished(JSON.parse(e.data));
    schedule("uploads");
  });
  events.addEventListener("stock", () => schedule("stock"));
  events.addEventListener("alerts", () => schedule("alerts"));
  events.addEventListener("resync", () => { schedule("uploads"); schedule("stock"); schedule("alerts"); });
  events.onerror = () => {
    $("live").classList.remove("on");
    if (!state.everLive) {
      // No live feed here (behind API Gateway responses cannot stay open): poll instead.
      events.close();
      $("live").textContent = "refreshing every 15 s";
      if (!state.polling) state.polling = setInterval(pollOnce, 15000);
      return;
    }
    $("live").textContent = "reconnecting…";
  };
}

async function pollOnce() {
  schedule("uploads"); schedule("stock"); schedule("alerts");
  if (state.waitingFor !== null && state.waitingFor !== undefined) {
    try { showFinished(await api(`/api/uploads/${encodeURIComponent(state.waitingFor)}`)); } catch (err) { console.warn(err); }
  }
}

// --- routing --------------------------------------------------------------------------

function route() {
  const match = location.hash.match(/^#\/store\/(.+)$/);
  $("overview-view").hidden = Boolean(match);
  $("store-view").hidden = !match;
  $("history-panel").hidden = true;
  if (match) loadStore(decodeURIComponent(match[1])).catch(console.warn);
  else { state.store = null; Promise.all([loadStores(), loadAlerts(), loadUploads()]).catch(console.warn); }
}

document.addEventListener("DOMContentLoaded", () => {
  setUpFileInput();
  $("item-search").addEventListener("input", drawStockTable);
  $("only-problems").addEventListener("change", drawStockTable);
  $("download-csv").addEventListener("click", () => downloadCsv().catch(console.warn));
  document.querySelectorAll("th[data-sort]").forEach((th) => th.addEventListener("click", () => {
    state.sort = [th.dataset.sort, state.sort[0] === th.dataset.sort ? -state.sort[1] : 1];
    drawStockTable();
  }));
  window.addEventListener("hashchange", route);
  route();
  connectEvents();
});
