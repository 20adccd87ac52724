// The API: the token, what the signer may do, and requests that ask for a token when refused.
import { $ } from "./dom.js";
import { connectEvents } from "./live.js";

export const state = { token: localStorage.getItem("stockwatch-token") || "", rows: [], sort: ["item", 1],
                store: null, openReports: new Set() };

// What the signer may do (GET /api/me); until it is known, nothing is offered.
export const can = (action) => Boolean(state.me && state.me.may.includes(action));

export async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) {
    await askForToken(Boolean(state.token));
    return api(path, options);
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.message || `HTTP ${response.status}`);
  return body;
}

export async function downloadCsv() {
  // A plain link cannot send the token, so fetch the file and hand it over as a blob.
  const headers = state.token ? { Authorization: `Bearer ${state.token}` } : {};
  const response = await fetch(`/api/stock.csv?store=${encodeURIComponent(state.store)}`, { headers });
  if (response.status === 401) { await askForToken(Boolean(state.token)); return downloadCsv(); }
  if (!response.ok) return;
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = `stock-${state.store.replace(/[^A-Za-z0-9._-]+/g, "_")}.csv`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

function askForToken(wrong) {
  // Several requests may be refused at once; they all wait for the same answer. A token
  // that was given and refused is said to be wrong, not asked for as if it were new.
  $("token-error").hidden = !wrong;
  if (!state.tokenPrompt) {
    state.tokenPrompt = new Promise((resolve) => {
      $("token-form").onsubmit = () => {
        state.token = $("token-input").value.trim();
        localStorage.setItem("stockwatch-token", state.token);
        state.tokenPrompt = null;
        connectEvents().catch(console.warn);
        resolve();
      };
      const dialog = $("token-dialog");
      if (!dialog.open) dialog.showModal();
    });
  }
  return state.tokenPrompt;
}
