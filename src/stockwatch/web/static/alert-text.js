// How an alert reads, wherever it is shown.
import { el, plural } from "./dom.js";

const KIND = {
  out_of_stock: ["out", "out"], low_stock: ["low", "low"], running_out: ["low", "running out"],
  back_in_stock: ["", "back"],
};

export function alertText(a) {
  if (a.kind === "out_of_stock") return `${a.store} is out of stock of ${a.item}`;
  if (a.kind === "low_stock") return `${a.store} is low on ${a.item}: ${a.count} left (minimum ${a.minimum})`;
  if (a.kind === "running_out") {
    const days = Math.max(1, Math.round(a.days_of_cover || 0));
    return `${a.store} will run out of ${a.item} in about ${plural(days, "day")}`;
  }
  return `${a.store} is back in stock of ${a.item}: ${a.count}`;
}

export function alertBadge(a) {
  const [cls, word] = KIND[a.kind] || ["", a.kind];
  return el("span", { class: `badge ${cls}`, text: word });
}
