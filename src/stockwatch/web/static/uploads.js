// Uploads: sending a file, the list with each report, held snapshots, and what they cost.
import { api, state } from "./api.js";
import { $, dollars, el, errorText, plural, seconds, when } from "./dom.js";

export async function loadUploads() {
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
  if (u.thresholds_set) parts.push(`${plural(u.thresholds_set, "minimum")} set from the file`);
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

export function setUpFileInput() {
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
    const options = new URLSearchParams();
    if ($("snapshot-input").checked) options.set("snapshot", "true");
    if ($("as-of-input").value) options.set("as_of", $("as-of-input").value);
    button.disabled = true;
    try {
      await send(input.files[0], options);
      input.value = ""; chosen();
    } catch (err) {
      $("upload-status").textContent = `Upload failed: ${err.message}`;
      button.disabled = false;
    }
  });
}

async function send(file, options) {
  const data = new FormData();
  data.append("file", file);
  state.lastFile = { file, options };  // kept to send again once its columns are mapped
  $("map-columns").hidden = true;
  $("upload-status").textContent = `Uploading ${file.name}…`;
  const queued = await sendFile(file, data, options);
  $("upload-status").textContent = `Upload ${queued.id} received; processing…`;
  state.openReports.add(queued.id);
  state.waitingFor = queued.id;
  // It may have finished before we started listening for it.
  showFinished(await api(`/api/uploads/${encodeURIComponent(queued.id)}`));
}

// The likeliest column for each role, by the words store systems use.
const HINTS = {
  store: ["store", "location", "shop", "outlet", "branch", "site", "warehouse"],
  item: ["item", "product", "name", "title", "description", "article"],
  count: ["count", "quantity", "qty", "on hand", "stock", "available", "inventory"],
};

function guess(headers, role) {
  return headers.find((h) => HINTS[role].some((w) => h.toLowerCase().includes(w))) || "";
}

function pick(id, label, headers, chosen, extra) {
  const select = el("select", { id }, ...(extra ? [el("option", { value: "", text: extra })] : []),
    ...headers.map((h) => el("option", { value: h, text: h })));
  select.value = chosen;
  return el("label", { text: label }, select);
}

// A file no layout reads: its columns in drop-downs, saved as a named mapping (for the
// store, when the file has no store column), and the same file sent again with it.
function showMapping(upload) {
  const form = $("map-columns");
  const headers = upload.headers;
  const base = (state.lastFile.file.name.replace(/\.[^.]*$/, "").toLowerCase().replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[^a-z0-9]+/, "") || "mapping").slice(0, 40);
  const storeName = el("input", { id: "map-store-name", placeholder: "the store's name" });
  form.replaceChildren(
    el("p", { text: "No layout reads this file. Map its columns once; the mapping is saved for next time." }),
    pick("map-store", "Store column", headers, guess(headers, "store"), "(none: one store's file)"),
    el("label", { text: "Store" }, storeName),
    pick("map-item", "Item column", headers, guess(headers, "item")),
    pick("map-count", "Count column", headers, guess(headers, "count")),
    el("label", { text: "Save as" }, el("input", { id: "map-name", value: base })),
    el("button", { type: "submit", class: "small", id: "map-save", text: "Save and load" }));
  form.onsubmit = async (e) => {
    e.preventDefault();
    const store = $("map-store").value, name = $("map-name").value.trim();
    const columns = [store && `store=${store}`, `item=${$("map-item").value}`, `count=${$("map-count").value}`]
      .filter(Boolean).join(",");
    try {
      await api(`/api/layouts/${encodeURIComponent(name)}`, { method: "PUT", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ columns, store: store ? null : storeName.value.trim() || null }) });
      const options = new URLSearchParams(state.lastFile.options);
      options.set("layout", name);
      await send(state.lastFile.file, options);
    } catch (err) {
      $("upload-status").textContent = `The mapping was not saved: ${err.message}`;
    }
  };
  form.hidden = false;
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

export function showFinished(upload) {
  if (upload.id !== state.waitingFor || ["queued", "processing"].includes(upload.status)) return;
  if (upload.rows_rejected && !upload.errors) {
    // A live event carries the figures, not the rows: fetch the report to name them.
    api(`/api/uploads/${encodeURIComponent(upload.id)}`).then(showFinished).catch(console.warn);
    return;
  }
  if (upload.status === "rejected" && upload.headers === undefined) {
    api(`/api/uploads/${encodeURIComponent(upload.id)}`).then(showFinished).catch(console.warn);
    return;
  }
  if (upload.status === "rejected" && upload.headers && upload.headers.length && state.lastFile) showMapping(upload);
  let text = `Upload ${upload.id}: ${upload.status.replace(/_/g, " ")}`;
  if (upload.status === "rejected" || upload.status === "needs_confirmation") {
    text += `: ${upload.message || "every row was rejected"}`;
  } else {
    text += `, ${plural(upload.rows_loaded, "row")} loaded, ${upload.rows_rejected} rejected`;
    if (upload.rows_zeroed) text += `, ${upload.rows_zeroed} left-out items set to 0`;
    if (upload.thresholds_set) text += `, ${plural(upload.thresholds_set, "low-stock minimum")} set from the file`;
  }
  if (upload.errors && upload.errors.length) {
    text += ` — ${upload.errors.slice(0, 3).map(errorText).join("; ")}`;
    if (upload.rows_rejected > 3) text += " …";
  }
  $("upload-status").textContent = `${text}.`;
  state.waitingFor = null;
}
