// The stockwatch dashboard. Every name from the data is put on the page as text
// (textContent), never as HTML, and is escaped before it reaches a chart label.
"use strict";

const state = { token: localStorage.getItem("stockwatch-token") || "", rows: [], sort: ["item", 1],
                store: null, openReports: new Set() };
const $ = (id) => document.getElementById(id);
// What the signer may do (GET /api/me); until it is known, nothing is offered.
const can = (action) => Boolean(state.me && state.me.may.includes(action));

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

const KIND = {
  out_of_stock: ["out", "out"], low_stock: ["low", "low"], running_out: ["low", "running out"],
  back_in_stock: ["", "back"],
};

function alertText(a) {
  if (a.kind === "out_of_stock") return `${a.store} is out of stock of ${a.item}`;
  if (a.kind === "low_stock") return `${a.store} is low on ${a.item}: ${a.count} left (minimum ${a.minimum})`;
  if (a.kind === "running_out") {
    const days = Math.max(1, Math.round(a.days_of_cover || 0));
    return `${a.store} will run out of ${a.item} in about ${plural(days, "day")}`;
  }
  return `${a.store} is back in stock of ${a.item}: ${a.count}`;
}

const itemLink = (name, text) => el("a", { href: `#/item/${encodeURIComponent(name)}`, text: text || name });
const storeLink = (name, text) => el("a", { href: `#/store/${encodeURIComponent(name)}`, text: text || name });

function alertBadge(a) {
  const [cls, word] = KIND[a.kind] || ["", a.kind];
  return el("span", { class: `badge ${cls}`, text: word });
}

async function loadAlerts() {
  const alerts = await api("/api/alerts?open=true&limit=100");
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

// --- where is it? ----------------------------------------------------------------------

let findTimer = null;
function scheduleFind() {
  clearTimeout(findTimer);
  findTimer = setTimeout(() => find().catch(console.warn), 200);
}

async function find() {
  const needle = $("find").value.trim();
  const list = $("find-results");
  list.replaceChildren();
  if (!needle) return;
  const page = await api(`/api/stock?${new URLSearchParams({ q: needle, limit: "200" })}`);
  const byItem = new Map();
  for (const r of page.rows) {
    if (!r.item.toLowerCase().includes(needle.toLowerCase())) continue;
    if (!byItem.has(r.item)) byItem.set(r.item, []);
    byItem.get(r.item).push(r);
  }
  if (!byItem.size) list.append(el("li", { class: "muted", text: `No item matches “${needle}”.` }));
  for (const [item, rows] of [...byItem].slice(0, 20)) {
    const inStock = rows.filter((r) => r.count > 0);
    const where = inStock.length
      ? `in stock in ${inStock.map((r) => `${r.store} (${r.count.toLocaleString()})`).join(", ")}`
      : "out of stock everywhere";
    list.append(el("li", {}, itemLink(item), el("span", { class: "muted", text: ` — ${where}` })));
  }
}

// --- item page -------------------------------------------------------------------------

const coverText = (r) => (r.days_of_cover === null || r.days_of_cover === undefined ? "—" : `${r.days_of_cover.toLocaleString()} d`);

async function loadItem(item) {
  $("item-name").textContent = item;
  const rows = await api(`/api/item?${new URLSearchParams({ name: item })}`);
  const body = $("item-rows");
  body.replaceChildren();
  const out = rows.filter((r) => r.status === "out_of_stock").length;
  const total = rows.reduce((n, r) => n + r.count, 0);
  $("item-summary").textContent = rows.length
    ? `${total.toLocaleString()} in ${plural(rows.length, "store")} · ${out} out of stock`
    : "No store has this item.";
  for (const r of rows) {
    body.append(el("tr", { class: r.status },
      el("td", {}, storeLink(r.store)), el("td", { class: "num", text: r.count.toLocaleString() }),
      el("td", { text: r.status.replace(/_/g, " ") }), el("td", { class: "num", text: coverText(r) }),
      el("td", { text: r.runs_out_on || "—" })));
  }
}

// --- alerts page -----------------------------------------------------------------------

async function loadAlertsPage(forced = false) {
  // Only the latest request draws (filters change quickly), and live updates wait while a
  // note is being typed: drawing again would drop it.
  const generation = (state.alertsGeneration = (state.alertsGeneration || 0) + 1);
  const typing = () => [...document.querySelectorAll("#alert-groups .note")].some((i) => i.value);
  if (!forced && typing()) return;
  const stores = await api("/api/stores");
  const select = $("alert-store");
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "", text: "All stores" }),
    ...stores.map((s) => el("option", { value: s.store, text: s.store })));
  select.value = chosen;
  const query = new URLSearchParams({ state: $("alert-state").value, limit: "500" });
  if (select.value) query.set("store", select.value);
  if ($("alert-kind").value) query.set("kind", $("alert-kind").value);
  const alerts = await api(`/api/alerts?${query}`);
  if (generation !== state.alertsGeneration || (!forced && typing())) return;
  const groups = $("alert-groups");
  groups.replaceChildren();
  if (!alerts.length) groups.append(el("p", { class: "panel muted", text: "No alerts match." }));
  const byStore = new Map();
  for (const a of alerts) {
    if (!byStore.has(a.store)) byStore.set(a.store, []);
    byStore.get(a.store).push(a);
  }
  for (const [store, found] of [...byStore].sort((x, y) => (x[0] > y[0] ? 1 : -1))) {
    const list = el("ul", { class: "alert-list full" });
    for (const a of found) list.append(alertItem(a));
    groups.append(el("section", { class: "panel", "data-store": store },
      el("h2", {}, storeLink(store), el("span", { class: "muted", text: ` · ${plural(found.length, "alert")}` })), list));
  }
}

function alertItem(a) {
  const status = [a.resolved_at ? `resolved ${when(a.resolved_at)}` : "open"];
  if (a.acknowledged_by) status.push(`acknowledged by ${a.acknowledged_by}${a.ack_note ? `: ${a.ack_note}` : ""}`);
  if (a.muted_until) status.push(`muted until ${when(a.muted_until)}`);
  const body = el("div", { class: "grow" },
    el("div", {}, itemLink(a.item, alertText(a))),
    el("small", { class: "muted", text: `raised ${when(a.raised_at)} · ${status.join(" · ")}` }));
  const actions = el("div", { class: "actions" });
  if (!a.resolved_at && !a.acknowledged_by && can("acknowledge")) {
    // A note being typed survives any redraw (a filter change, a live update): it is kept
    // per alert until it is sent.
    const drafts = (state.ackDrafts = state.ackDrafts || {});
    const note = el("input", { type: "text", placeholder: "note (optional)", maxlength: "1000", class: "note",
      value: drafts[a.id] || "", oninput: () => { drafts[a.id] = note.value; } });
    actions.append(note, el("button", { type: "button", class: "small", text: "Acknowledge",
      onclick: () => act(`/api/alerts/${encodeURIComponent(a.id)}/ack`, { method: "POST",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify({ note: note.value }) }).then(() => { delete drafts[a.id]; }) }));
  }
  if (!can("mute")) {
    // a viewer or a store user reads alerts; acting on them is a manager's
  } else if (a.muted_until) {
    actions.append(el("button", { type: "button", class: "small quiet", text: "Unmute",
      onclick: () => act(`/api/mutes?${new URLSearchParams({ store: a.store, item: a.item })}`, { method: "DELETE" })
        .catch(() => act(`/api/mutes?${new URLSearchParams({ store: a.store, item: "*" })}`, { method: "DELETE" })) }));
  } else if (!a.resolved_at) {
    actions.append(el("button", { type: "button", class: "small quiet", text: "Mute 7 days",
      onclick: () => {
        const until = new Date(Date.now() + 7 * 86400000).toISOString();
        return act("/api/mutes", { method: "PUT", headers: { "Content-Type": "application/json" },
          body: JSON.stringify([{ store: a.store, item: a.item, until }]) });
      } }));
  }
  return el("li", { "data-alert": a.id }, alertBadge(a), body, actions);
}

async function act(path, options) {
  await api(path, options);
  await loadAlertsPage(true);
}

// --- thresholds page -------------------------------------------------------------------

async function loadThresholds() {
  const rows = await api("/api/thresholds");
  const body = $("threshold-rows");
  body.replaceChildren();
  if (!rows.length) body.append(el("tr", {}, el("td", { colspan: "5", class: "muted", text: "No thresholds yet." })));
  for (const t of rows) {
    body.append(el("tr", { "data-threshold": `${t.store}/${t.item}` },
      el("td", { text: t.store }), el("td", { text: t.item }),
      el("td", { class: "num", text: t.minimum.toLocaleString() }),
      el("td", { class: "num", text: t.cover_days ? t.cover_days.toLocaleString() : "—" }),
      el("td", {}, can("thresholds") ? el("button", { type: "button", class: "small quiet", text: "Remove",
        onclick: () => thresholdChange(api(`/api/thresholds?${new URLSearchParams({ store: t.store, item: t.item })}`,
          { method: "DELETE" }), `Removed ${t.store} / ${t.item}`) }) : "")));
  }
}

async function thresholdChange(request, done) {
  try {
    const result = await request;
    const raised = result && result.raised ? result.raised.length : null;
    const resolved = result && result.resolved ? result.resolved.length : null;
    const effect = raised === null ? "" : ` · ${plural(raised, "alert")} raised, ${resolved} resolved`;
    $("threshold-status").textContent = `${done}${effect}.`;
  } catch (err) {
    $("threshold-status").textContent = `Not changed: ${err.message}`;
  }
  await loadThresholds();
}

function setUpThresholds() {
  $("threshold-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const cover = $("t-cover").value;
    const entry = { store: $("t-store").value.trim(), item: $("t-item").value.trim(),
      minimum: Number($("t-minimum").value), cover_days: cover === "" ? null : Number(cover) };
    thresholdChange(api("/api/thresholds", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify([entry]) }), `Set ${entry.store} / ${entry.item} to ${entry.minimum}`);
  });
  $("threshold-import").addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = $("t-file").files[0];
    if (!file) return;
    thresholdChange(api("/api/thresholds.csv", { method: "PUT", headers: { "Content-Type": "text/csv" },
      body: await file.text() }), `Imported ${file.name}`);
  });
}

async function loadUploads() {
  const page = await api("/api/uploads?limit=20");
  const body = $("uploads");
  body.replaceChildren();
  if (!page.uploads.length) body.append(el("tr", {}, el("td", { colspan: "8", class: "muted", text: "No uploads yet." })));
  for (const u of page.uploads) {
    const row = el("tr", { class: "clickable", "data-upload": u.id, onclick: () => toggleReport(u.id) },
      el("td", { text: u.id }), el("td", { text: u.file }), el("td", { class: "uploader wide-only", text: u.uploaded_by || "—" }),
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

const errorText = (e) => `line ${e.line}: ${e.message}${e.item ? ` — item ${e.item}` : ""}`;

async function decide(id, what) {
  try {
    await api(`/api/uploads/${encodeURIComponent(id)}/${what}`, { method: "POST" });
  } catch (err) {
    $("upload-status").textContent = `Upload ${id}: ${err.message}`;
  }
  await loadUploads();
}

function reportRow(u) {
  const cell = el("td", { colspan: "8" });
  const parts = [`${plural(u.rows_loaded, "row")} loaded`, `${u.rows_unchanged.toLocaleString()} unchanged`];
  if (u.rows_superseded) parts.push(`${u.rows_superseded.toLocaleString()} superseded by newer uploads`);
  parts.push(`${u.rows_rejected.toLocaleString()} rejected`, plural(u.alerts_total, "alert"));
  cell.append(el("div", { text: parts.join(" · ") }));
  if (u.message) cell.append(el("p", { class: `status ${u.status}`, text: u.message }));
  if (u.status === "needs_confirmation") {
    cell.append(el("div", { class: "actions" },
      el("button", { type: "button", class: "small", text: "Apply it", "data-confirm": u.id,
        onclick: (e) => { e.stopPropagation(); decide(u.id, "confirm"); } }),
      el("button", { type: "button", class: "small quiet", text: "Discard it", "data-discard": u.id,
        onclick: (e) => { e.stopPropagation(); decide(u.id, "discard"); } })));
  }
  if (u.rows_zeroed) {
    const verb = u.status === "needs_confirmation" ? "would set" : "set";
    const more = u.rows_zeroed > u.zeroed.length ? ` and ${u.rows_zeroed - u.zeroed.length} more` : "";
    cell.append(el("p", { text: `Snapshot: ${verb} ${plural(u.rows_zeroed, "left-out item")} to 0: ${u.zeroed.slice(0, 20).join(", ")}${more}` }));
  }
  if (u.errors.length) {
    const list = el("ul");
    for (const e of u.errors) list.append(el("li", { text: errorText(e) }));
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
      el("td", { text: r.item }), el("td", { class: "num", text: r.count.toLocaleString() }),
      el("td", { text: r.status.replace(/_/g, " ") }),
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
  if (!window.Plotly) return;
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
    const options = new URLSearchParams();
    if ($("snapshot-input").checked) options.set("snapshot", "true");
    if ($("as-of-input").value) options.set("as_of", $("as-of-input").value);
    button.disabled = true;
    $("upload-status").textContent = `Uploading ${input.files[0].name}…`;
    try {
      const queued = await sendFile(input.files[0], data, options);
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

async function sendFile(file, data, options) {
  if (!(state.me && state.me.upload_form)) return api(`/api/uploads?${options}`, { method: "POST", body: data });
  // On AWS the file goes straight to the bucket with a form the API signed for this user.
  options.set("filename", file.name);
  const form = await api(`/api/uploads/form?${options}`, { method: "POST" });
  const body = new FormData();
  for (const [name, value] of Object.entries(form.fields)) body.append(name, value);
  body.append("file", file);
  const sent = await fetch(form.url, { method: "POST", body });
  if (!sent.ok) throw new Error(`the bucket refused the file (HTTP ${sent.status})`);
  return { id: form.id, status: "queued" };
}

function showFinished(upload) {
  if (upload.id !== state.waitingFor || ["queued", "processing"].includes(upload.status)) return;
  if (upload.rows_rejected && !upload.errors) {
    // A live event carries the figures, not the rows: fetch the report to name them.
    api(`/api/uploads/${encodeURIComponent(upload.id)}`).then(showFinished).catch(console.warn);
    return;
  }
  let text = `Upload ${upload.id}: ${upload.status.replace(/_/g, " ")}`;
  if (upload.status === "rejected" || upload.status === "needs_confirmation") {
    text += `: ${upload.message || "every row was rejected"}`;
  } else {
    text += `, ${plural(upload.rows_loaded, "row")} loaded, ${upload.rows_rejected} rejected`;
    if (upload.rows_zeroed) text += `, ${upload.rows_zeroed} left-out items set to 0`;
  }
  if (upload.errors && upload.errors.length) {
    text += ` — ${upload.errors.slice(0, 3).map(errorText).join("; ")}`;
    if (upload.rows_rejected > 3) text += " …";
  }
  $("upload-status").textContent = `${text}.`;
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
    if (work.includes("alerts")) {
      await loadAlerts();
      if (state.view === "alerts") await loadAlertsPage();
      if (state.view === "thresholds") await loadThresholds();
    }
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

// --- who is signed in, and the people page (admins) ------------------------------------

async function loadMe() {
  state.me = await api("/api/me");
  const me = state.me;
  const scope = me.stores ? me.stores.join(", ") : "all stores";
  $("who-name").textContent = `${me.name} · ${me.role} · ${scope}`;
  $("who").hidden = false;
  $("sign-out").hidden = !state.token;
  $("upload-panel").hidden = !can("upload");
  $("threshold-forms").hidden = !can("thresholds");
  document.querySelectorAll('[data-nav="people"]').forEach((a) => { a.hidden = !can("users"); });
  await drawNotifyMe();
}

async function drawNotifyMe() {
  const button = $("notify-me");
  const me = state.me;
  button.hidden = !(me && me.email && can("subscribe"));
  if (button.hidden) return;
  const mine = (await api("/api/subscriptions")).filter((s) => s.owner === me.name && s.target === me.email);
  button.textContent = mine.length ? "Stop emailing me" : "Email me my alerts";
  button.title = mine.length ? `Alerts for ${mine[0].stores ? mine[0].stores.join(", ") : "every store"} go to ${me.email}`
    : `Send this upload's alerts for your stores to ${me.email}`;
  button.onclick = async () => {
    try {
      if (mine.length) {
        for (const s of mine) await api(`/api/subscriptions/${encodeURIComponent(s.id)}`, { method: "DELETE" });
      } else {
        await api("/api/subscriptions/me", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
      }
    } catch (err) { button.title = err.message; }
    await drawNotifyMe();
  };
}

function signOut() {
  localStorage.removeItem("stockwatch-token");
  state.token = "";
  location.hash = "#/";
  location.reload();
}

async function loadPeople() {
  const [users, subscriptions, trail] = await Promise.all([api("/api/users"), api("/api/subscriptions"),
    api(`/api/audit?since=${encodeURIComponent(new Date(Date.now() - 7 * 86400000).toISOString())}`)]);
  const body = $("user-rows");
  body.replaceChildren();
  if (!users.length) body.append(el("tr", {}, el("td", { colspan: "6", class: "muted", text: "No users yet: everyone signs in with the shared token." })));
  for (const u of users) {
    const live = !u.revoked_at;
    body.append(el("tr", { "data-user": u.name },
      el("td", { text: u.name }), el("td", { text: u.role }),
      el("td", { text: u.stores ? u.stores.join(", ") : "all" }), el("td", { text: u.email || "—" }),
      el("td", { text: live ? `added ${when(u.created_at)}` : `revoked ${when(u.revoked_at)}` }),
      el("td", { class: "actions" }, live ? el("button", { type: "button", class: "small", text: "New token",
        onclick: () => peopleChange(api(`/api/users/${encodeURIComponent(u.name)}/rotate`, { method: "POST" }), u.name) }) : "",
      live ? el("button", { type: "button", class: "small quiet", text: "Revoke",
        onclick: () => peopleChange(api(`/api/users/${encodeURIComponent(u.name)}`, { method: "DELETE" }), u.name) }) : "")));
  }
  const subs = $("subscription-rows");
  subs.replaceChildren();
  if (!subscriptions.length) subs.append(el("tr", {}, el("td", { colspan: "5", class: "muted", text: "No subscriptions: digests go to the server's own channels only." })));
  for (const s of subscriptions) {
    subs.append(el("tr", {}, el("td", { text: `${s.channel} ${s.target}` }),
      el("td", { text: s.stores ? s.stores.join(", ") : "every store" }),
      el("td", { text: s.kinds ? s.kinds.map((k) => k.replace(/_/g, " ")).join(", ") : "every kind" }),
      el("td", { text: s.owner || "—" }),
      el("td", {}, el("button", { type: "button", class: "small quiet", text: "Delete",
        onclick: () => peopleChange(api(`/api/subscriptions/${encodeURIComponent(s.id)}`, { method: "DELETE" })) }))));
  }
  const lines = $("audit-rows");
  lines.replaceChildren();
  for (const a of trail.slice(-50).reverse()) {
    lines.append(el("tr", {}, el("td", { text: when(a.at) }), el("td", { text: a.actor }),
      el("td", { text: a.action }), el("td", { text: [a.subject, a.detail].filter(Boolean).join(" — ") })));
  }
}

async function peopleChange(request, name) {
  $("people-status").textContent = "";
  $("new-token").hidden = true;
  try {
    const result = await request;
    if (result && result.token) showToken(result.name || name, result.token);
  } catch (err) {
    $("people-status").textContent = `Not done: ${err.message}`;
  }
  await loadPeople();
}

function showToken(name, token) {
  $("new-token-text").textContent = token;
  $("new-token-for").textContent = `Token for ${name}: shown once, give it to ${name} and keep no copy.`;
  $("new-token").hidden = false;
}

function setUpPeople() {
  $("user-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const stores = $("u-stores").value.split(",").map((s) => s.trim()).filter(Boolean);
    const user = { name: $("u-name").value.trim(), role: $("u-role").value, stores };
    if ($("u-email").value.trim()) user.email = $("u-email").value.trim();
    peopleChange(api("/api/users", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(user) }), user.name).then(() => { if (!$("new-token").hidden) $("user-form").reset(); });
  });
}

// --- routing --------------------------------------------------------------------------

const VIEWS = ["overview", "store", "item", "alerts", "thresholds", "people"];

function route() {
  const hash = location.hash;
  const store = hash.match(/^#\/store\/(.+)$/), item = hash.match(/^#\/item\/(.+)$/);
  const view = store ? "store" : item ? "item" : hash === "#/alerts" ? "alerts"
    : hash === "#/thresholds" ? "thresholds" : hash === "#/people" ? "people" : "overview";
  state.view = view;
  for (const name of VIEWS) $(`${name}-view`).hidden = name !== view;
  document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("current", a.dataset.nav === view));
  $("history-panel").hidden = true;
  if (view !== "store") state.store = null;
  const work = { store: () => loadStore(decodeURIComponent(store[1])),
    item: () => loadItem(decodeURIComponent(item[1])), alerts: loadAlertsPage, thresholds: loadThresholds, people: loadPeople,
    overview: () => Promise.all([loadStores(), loadAlerts(), loadUploads()]) }[view];
  work().catch(console.warn);
}

document.addEventListener("DOMContentLoaded", () => {
  setUpFileInput();
  setUpThresholds();
  $("find").addEventListener("input", scheduleFind);
  for (const id of ["alert-store", "alert-kind", "alert-state"]) $(id).addEventListener("change", () => loadAlertsPage(true).catch(console.warn));
  $("item-search").addEventListener("input", drawStockTable);
  $("only-problems").addEventListener("change", drawStockTable);
  $("download-csv").addEventListener("click", () => downloadCsv().catch(console.warn));
  document.querySelectorAll("th[data-sort]").forEach((th) => th.addEventListener("click", () => {
    state.sort = [th.dataset.sort, state.sort[0] === th.dataset.sort ? -state.sort[1] : 1];
    drawStockTable();
  }));
  setUpPeople();
  $("sign-out").addEventListener("click", signOut);
  window.addEventListener("hashchange", route);
  // Who is signed in decides what each page offers, so they are drawn once it is known.
  loadMe().catch(console.warn).finally(() => { route(); connectEvents(); });
});
