// The stockwatch dashboard: routing between the pages, and setting each up once.
import { loadAlertsPage } from "./alerts.js";
import { downloadCsv, state } from "./api.js";
import { $ } from "./dom.js";
import { loadItem } from "./item.js";
import { connectEvents } from "./live.js";
import { loadAlerts, loadStores, scheduleFind } from "./overview.js";
import { loadOrderPage, setUpOrderPage } from "./order.js";
import { loadMe, loadPeople, setUpPeople, signOut } from "./people.js";
import { drawStockTable, loadStore } from "./store.js";
import { loadThresholds, setUpThresholds } from "./thresholds.js";
import { loadUploads, setUpFileInput } from "./uploads.js";

const VIEWS = ["overview", "store", "item", "alerts", "order", "thresholds", "people"];

function route() {
  const hash = location.hash;
  const store = hash.match(/^#\/store\/(.+)$/), item = hash.match(/^#\/item\/(.+)$/);
  const view = store ? "store" : item ? "item" : hash === "#/alerts" ? "alerts"
    : hash === "#/order" ? "order" : hash === "#/thresholds" ? "thresholds" : hash === "#/people" ? "people" : "overview";
  state.view = view;
  for (const name of VIEWS) $(`${name}-view`).hidden = name !== view;
  document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("current", a.dataset.nav === view));
  $("history-panel").hidden = true;
  if (view !== "store") state.store = null;
  const work = { store: () => loadStore(decodeURIComponent(store[1])),
    item: () => loadItem(decodeURIComponent(item[1])), alerts: loadAlertsPage, order: loadOrderPage, thresholds: loadThresholds, people: loadPeople,
    overview: () => Promise.all([loadStores(), loadAlerts(), loadUploads()]) }[view];
  work().catch(console.warn);
}

document.addEventListener("DOMContentLoaded", () => {
  setUpFileInput();
  setUpThresholds();
  setUpOrderPage();
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
  loadMe().catch(console.warn).finally(() => { route(); connectEvents().catch(console.warn); });
});
