// The thresholds page: minimums that act at once.
import { api, can } from "./api.js";
import { $, el, plural } from "./dom.js";

export async function loadThresholds() {
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

export function setUpThresholds() {
  $("threshold-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const cover = $("t-cover").value;
    const entry = { store: $("t-store").value.trim(), item: $("t-item").value.trim(),
      minimum: Number($("t-minimum").value), cover_days: cover === "" ? null : Number(cover) };
    // A name that is not stocked is refused with the closest ones, unless it is expected.
    const path = $("t-new").checked ? "/api/thresholds?new=true" : "/api/thresholds";
    thresholdChange(api(path, { method: "POST", headers: { "Content-Type": "application/json" },
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
