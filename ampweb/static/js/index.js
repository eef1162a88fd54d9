// The index page: buttons that start a graph of each view style through the
// add-series dialog, and the stream list, which shows each stream's last
// result as a relative time ("5 minutes ago"); the UTC time the server
// rendered stays in the tooltip.

import "./dialog.js";
import { relativeTime } from "./lib/time.js";

function update() {
  const now = Date.now() / 1000;
  for (const el of document.querySelectorAll("time.last-result[data-ts]")) {
    const ts = Number(el.dataset.ts);
    if (!Number.isFinite(ts)) continue;
    el.textContent = relativeTime(ts, now);
    el.dateTime = new Date(ts * 1000).toISOString();
    el.classList.toggle("stale", now - ts > 3600);
  }
}

update();
setInterval(update, 30000);
