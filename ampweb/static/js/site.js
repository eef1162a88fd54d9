// What every page has: the UTC/local switch in the header.

import { EVENT, setZone, zone } from "./lib/timezone.js";

function render() {
  const current = zone();
  for (const button of document.querySelectorAll(".tz-switch [data-tz]")) {
    button.setAttribute("aria-pressed", String(button.dataset.tz === current));
  }
  document.documentElement.dataset.timezone = current;
}

for (const button of document.querySelectorAll(".tz-switch [data-tz]")) {
  button.addEventListener("click", () => setZone(button.dataset.tz));
}
window.addEventListener(EVENT, render);
render();
