// The alerts page: grouped by store, filtered, acknowledged and muted.
import { alertBadge, alertText } from "./alert-text.js";
import { api, can, state } from "./api.js";
import { $, el, itemLink, plural, storeLink, when } from "./dom.js";

export async function loadAlertsPage(forced = false) {
  // Only the latest request draws (filters change quickly), and live updates wait while a
  // note is being typed: drawing again would drop it.
  // A live update skipped while typing must not count as the latest request: it would make
  // a forced draw in flight (after an acknowledgement) stale, and the page would not change.
  const typing = () => [...document.querySelectorAll("#alert-groups .note")].some((i) => i.value);
  if (!forced && typing()) return;
  const generation = (state.alertsGeneration = (state.alertsGeneration || 0) + 1);
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
    // per alert until it is sent, and what is sent is the draft, so a note typed into a
    // box a redraw has just replaced is not lost.
    const drafts = (state.ackDrafts = state.ackDrafts || {});
    const note = el("input", { type: "text", placeholder: "note (optional)", maxlength: "1000", class: "note",
      value: drafts[a.id] || "", oninput: () => { drafts[a.id] = note.value; } });
    actions.append(note, el("button", { type: "button", class: "small", text: "Acknowledge",
      onclick: () => act(`/api/alerts/${encodeURIComponent(a.id)}/ack`, { method: "POST",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify({ note: drafts[a.id] || note.value }) }).then(() => { delete drafts[a.id]; }) }));
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
