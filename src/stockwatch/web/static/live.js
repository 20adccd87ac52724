// Live updates: Server-Sent Events where the server keeps responses open, polling elsewhere.
import { loadAlertsPage } from "./alerts.js";
import { api, state } from "./api.js";
import { $ } from "./dom.js";
import { loadAlerts, loadStores } from "./overview.js";
import { loadStore } from "./store.js";
import { loadThresholds } from "./thresholds.js";
import { loadUploads, showFinished } from "./uploads.js";

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

function startPolling() {
  // No live feed here (behind API Gateway responses cannot stay open): poll instead.
  $("live").textContent = "refreshing every 15 s";
  if (!state.polling) state.polling = setInterval(pollOnce, 15000);
}

export async function connectEvents() {
  if (events) events.close();
  let query = "";
  if (state.token) {
    // EventSource cannot send the token as a header, and a URL is logged by proxies:
    // a single-use ticket, good for a minute, stands for it.
    try {
      const made = await api("/api/events/ticket", { method: "POST" });
      query = `?ticket=${encodeURIComponent(made.ticket)}`;
    } catch (err) {
      console.warn(err);
      startPolling();
      return;
    }
  }
  events = new EventSource(`/api/events${query}`);
  events.addEventListener("hello", () => { state.everLive = true; $("live").textContent = "live"; $("live").classList.add("on"); });
  events.addEventListener("upload", (e) => {
    showFinished(JSON.parse(e.data));
    schedule("uploads");
  });
  events.addEventListener("stock", () => schedule("stock"));
  events.addEventListener("alerts", () => schedule("alerts"));
  events.addEventListener("resync", () => { schedule("uploads"); schedule("stock"); schedule("alerts"); });
  events.addEventListener("signed-out", () => {
    events.close();
    $("live").classList.remove("on");
    $("live").textContent = "signed out";
  });
  events.onerror = () => {
    $("live").classList.remove("on");
    events.close();
    if (!state.everLive) {
      startPolling();
      return;
    }
    // A ticket serves once: connect again with a new one.
    $("live").textContent = "reconnecting…";
    setTimeout(() => connectEvents().catch(console.warn), 3000);
  };
}

async function pollOnce() {
  schedule("uploads"); schedule("stock"); schedule("alerts");
  if (state.waitingFor !== null && state.waitingFor !== undefined) {
    try { showFinished(await api(`/api/uploads/${encodeURIComponent(state.waitingFor)}`)); } catch (err) { console.warn(err); }
  }
}
