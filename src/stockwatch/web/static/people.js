// Who is signed in, "Email me my alerts", and the people page (admins).
import { api, can, state } from "./api.js";
import { $, el, when } from "./dom.js";

export async function loadMe() {
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

export function signOut() {
  localStorage.removeItem("stockwatch-token");
  state.token = "";
  location.hash = "#/";
  location.reload();
}

export async function loadPeople() {
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

export function setUpPeople() {
  $("user-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const stores = $("u-stores").value.split(",").map((s) => s.trim()).filter(Boolean);
    const user = { name: $("u-name").value.trim(), role: $("u-role").value, stores };
    if ($("u-email").value.trim()) user.email = $("u-email").value.trim();
    peopleChange(api("/api/users", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(user) }), user.name).then(() => { if (!$("new-token").hidden) $("user-form").reset(); });
  });
}
