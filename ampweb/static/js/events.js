// The events dashboard: the server renders the groups in UTC; this shows
// their times in the zone the header's switch chooses, and redraws when it
// changes. The filter form is a plain GET form, so a filtered view is a URL.
// The list updates itself (events-live.js). The panels are modules of their
// own under ./events/: the saved filters, the frequency graph and the common
// events.

import { startLive } from "./events-live.js";
import { initCommon } from "./events/common.js";
import { initFilterPanel } from "./events/filter-panel.js";
import { initFrequency } from "./events/frequency.js";
import { EVENT, formatTime, zone } from "./lib/timezone.js";
import { attachRatings } from "./ratings.js";

function showTimes() {
  const suffix = zone() === "utc" ? " UTC" : "";
  for (const el of document.querySelectorAll("time.ts[data-ts]")) {
    const ts = Number(el.dataset.ts);
    if (!Number.isFinite(ts)) continue;
    el.textContent = formatTime(ts) + suffix;
    el.dateTime = new Date(ts * 1000).toISOString();
  }
  document.body.dataset.eventsReady = "true";
}

// Leave empty filters out of the URL: "?range=all" rather than "?range=all&min_severity=".
const form = document.getElementById("events-filters");
form?.addEventListener("submit", () => {
  for (const input of form.querySelectorAll("input, select")) {
    if (!input.value) input.disabled = true;
  }
});

// Coming back to the page (the back button) finds the form as it was left: usable.
window.addEventListener("pageshow", () => {
  for (const input of form?.querySelectorAll("input, select") ?? []) input.disabled = false;
});

window.addEventListener(EVENT, showTimes);
showTimes();

initFilterPanel(document.getElementById("events-saved"));
const frequency = initFrequency(document.getElementById("events-frequency"));
const common = document.getElementById("events-common");
initCommon(common);

// New groups change the frequency graph and the common events too: they are
// asked for again, at most once a minute while groups keep arriving.
const PANELS_REFRESH = 60_000;
let panelsDue = null;
function refreshPanels() {
  if (panelsDue !== null) return;
  panelsDue = setTimeout(() => {
    panelsDue = null;
    frequency?.refresh();
    initCommon(common);
  }, PANELS_REFRESH);
}

const groups = document.getElementById("event-groups");
if (groups) attachRatings(groups);
// The groups the live updates bring get their rating widgets too.
if (groups?.dataset.live) {
  startLive(groups, {
    onChange: () => {
      showTimes();
      attachRatings(groups);
      refreshPanels();
    },
  });
}
