// The matrix page: one metric for every (source, destination) pair of two
// meshes. The page's initial data comes from
// <script type="application/json" id="page-data">; the cells come from the
// matrix API and are fetched again every minute without reloading the page.
//
// Each cell is a link to the pair's graph. A pair measured per address family
// (or direction) is drawn as one half per split. Hovering or focusing a cell
// shows a tooltip with the pair's 24-hour sparkline and its 1, 6 and 24 hour
// values, fetched once per pair and kept for a few minutes, and the pair's
// events of the last 6 hours, which the matrix answer carries (a badge in the
// cell's corner counts them, outlined while one is in an open group).
//
// For tests: <body data-matrix-ready="true" data-matrix-mode="..."> once cells
// are drawn, and the tooltip carries data-ready="true" once its stats are in.

import { fetchJSON, withParams } from "./lib/api.js";
import { h } from "./lib/dom.js";
import { severityLevel } from "./lib/event-markers.js";
import { currentSection, eventsSection, eventsSummary, historySection, matrixNumber, pairEvents, valueText } from "./lib/matrix-tooltip.js";
import { relativeTime } from "./lib/time.js";
import { EVENT as TIMEZONE_CHANGED, formatTime, parts, zone, zoneName } from "./lib/timezone.js";

const TOOLTIP_TTL_MS = 5 * 60 * 1000;
const TOOLTIP_FETCH_DELAY_MS = 120;
// A cell of a collection without splits; the collections name their own split values.
const SPLIT_LABELS = { all: "All", "": "All" };
// Sparkline lines, one per split; not the severity colours, so they are not read as good or bad.

const $ = (id) => document.getElementById(id);
const page = JSON.parse($("page-data").textContent);

const el = {
  table: $("matrix"),
  caption: $("matrix-caption"),
  empty: $("matrix-empty"),
  alert: $("matrix-alert"),
  updated: $("matrix-updated"),
  tooltip: $("matrix-tooltip"),
  splits: $("legend-splits"),
  srcMesh: $("src-mesh"),
  dstMesh: $("dst-mesh"),
};

const state = {
  mode: page.mode,
  matrix: null,
  // Sources, destinations and splits of the drawn table: while they stay the
  // same, a refresh updates the cells in place (keeping focus and hover).
  shape: "",
  seq: 0,
  inflight: false,
  fetchedAt: 0,
  hovered: null, // {source, destination}
  tips: new Map(), // pair key -> {at, promise}
  tipTimer: null,
};

// ---------------------------------------------------------------- small helpers

const pairKey = (source, destination) => `${source}\u0000${destination}`;
/** A split value as the collection names it (page.split_labels), else as the matrix knows it. */
const splitLabel = (split) => page.split_labels?.[split] ?? SPLIT_LABELS[split] ?? split;

const formatValue = (value) => valueText(value, page.unit);

/** "latency", but "HTTP" and "DNS" stay as they are. */
const metricWords = (label) => (label === label.toUpperCase() ? label : label.toLowerCase());

const pad = (n) => String(n).padStart(2, "0");

/** "12:05:30" in the zone chosen in the page header (UTC or the browser's). */
function clockTime(ts) {
  const p = parts(ts);
  return `${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
}

function hourMinute(ts) {
  const p = parts(ts);
  return `${pad(p.hour)}:${pad(p.minute)}`;
}

/** The zone's short name: "UTC", or "UTC+13" for the browser's own. */
function zoneLabel() {
  if (zone() === "utc") return "UTC";
  const offset = -new Date().getTimezoneOffset();
  const h = Math.floor(Math.abs(offset) / 60);
  const m = Math.abs(offset) % 60;
  return `UTC${offset >= 0 ? "+" : "−"}${h}${m ? `:${pad(m)}` : ""}`;
}

const nowSeconds = () => Date.now() / 1000;

function lastResultText(ts) {
  if (!ts) return "no result yet";
  return `${formatTime(ts)} ${zoneLabel()} (${relativeTime(ts, nowSeconds())})`;
}

/** The page's words for the tooltip's sections (lib/matrix-tooltip.js). */
const words = { unit: page.unit, splitLabel, hourMinute, lastResultText, now: nowSeconds };

// ---------------------------------------------------------------- fetching

function matrixURL() {
  return withParams(page.matrix_url, {
    src_mesh: page.src_mesh,
    dst_mesh: page.dst_mesh,
    mode: state.mode,
  });
}

/** Fetch the cells and draw them; a newer call (e.g. a mode change) wins over an older one. */
async function refresh() {
  const seq = ++state.seq;
  state.inflight = true;
  el.table.setAttribute("aria-busy", "true");
  try {
    const matrix = await fetchJSON(matrixURL());
    if (seq !== state.seq) return;
    state.matrix = matrix;
    state.fetchedAt = Date.now();
    hideAlert();
    render(matrix);
  } catch (err) {
    if (seq !== state.seq) return;
    const when = state.matrix ? ` Still showing the values from ${clockTime(state.matrix.generated)}.` : "";
    showAlert(`Could not load the matrix: ${err.message}${when}`);
    document.body.dataset.matrixError = "true";
  } finally {
    if (seq === state.seq) {
      state.inflight = false;
      el.table.setAttribute("aria-busy", "false");
    }
  }
}

function tooltipData(source, destination) {
  const key = pairKey(source, destination);
  const cached = state.tips.get(key);
  if (cached && Date.now() - cached.at < TOOLTIP_TTL_MS) return cached.promise;
  const promise = fetchJSON(withParams(page.tooltip_url, { source, destination }));
  state.tips.set(key, { at: Date.now(), promise });
  // A failure is not kept, so the next hover asks again.
  promise.catch(() => state.tips.delete(key));
  return promise;
}

function showAlert(message) {
  el.alert.textContent = message;
  el.alert.hidden = false;
}

function hideAlert() {
  el.alert.hidden = true;
  el.alert.textContent = "";
  delete document.body.dataset.matrixError;
}

// ---------------------------------------------------------------- drawing the table

function cellsByPair(matrix) {
  const pairs = new Map();
  for (const cell of matrix.cells) {
    const key = pairKey(cell.source, cell.destination);
    if (!pairs.has(key)) pairs.set(key, new Map());
    pairs.get(key).set(cell.split, cell);
  }
  return pairs;
}

function render(matrix) {
  const pairs = cellsByPair(matrix);
  const splits = matrix.splits.length ? matrix.splits : [""];
  const shape = JSON.stringify([matrix.sources, matrix.destinations, splits]);
  if (shape !== state.shape) {
    buildTable(matrix);
    state.shape = shape;
  }
  for (const td of el.table.querySelectorAll("td[data-source]")) {
    const { source, destination } = td.dataset;
    fillCell(td, source, destination, pairs.get(pairKey(source, destination)), splits);
  }

  const nothing = !matrix.sources.length || !matrix.destinations.length || !matrix.cells.length;
  el.empty.hidden = !nothing;
  // A grid of empty cells says nothing the sentence below does not.
  el.table.hidden = nothing;
  if (nothing) {
    el.empty.textContent = !matrix.sources.length
      ? `The source mesh ${matrix.src_mesh} has no sites.`
      : !matrix.destinations.length
        ? `The destination mesh ${matrix.dst_mesh} has no sites.`
        : `No ${metricWords(page.label)} measurements run from ${matrix.src_mesh} to ${matrix.dst_mesh}.`;
  }
  el.splits.hidden = splits.length < 2;
  el.splits.textContent =
    splits.length < 2 ? "" : `Each cell is split: ${splits.map(splitLabel).join(" above, ")} below.`;

  renderUpdated(matrix);
  document.body.dataset.matrixReady = "true";
  document.body.dataset.matrixMode = matrix.mode;
  el.table.dataset.generated = String(matrix.generated);
  if (state.hovered) refreshTooltip();
}

function buildTable(matrix) {
  el.table.replaceChildren(el.caption);
  const head = h("tr", {}, h("td", { class: "corner", "aria-hidden": "true", text: "from \\ to" }));
  for (const destination of matrix.destinations) {
    head.append(h("th", { scope: "col", title: destination }, h("span", { text: destination })));
  }
  const body = h("tbody");
  for (const source of matrix.sources) {
    const row = h("tr", {}, h("th", { scope: "row", title: source, text: source }));
    for (const destination of matrix.destinations) {
      row.append(h("td", { "data-source": source, "data-destination": destination }));
    }
    body.append(row);
  }
  el.table.append(h("thead", {}, head), body);
}

/** Put one pair's cell in `td`, reusing its link or placeholder so focus survives a refresh. */
function fillCell(td, source, destination, cells, splits) {
  if (!cells) {
    const self = source === destination;
    let span = td.firstElementChild;
    if (!span || span.tagName !== "SPAN") {
      span = h("span");
      td.replaceChildren(span);
    }
    span.className = self ? "cell self" : "cell untested";
    span.textContent = "";
    span.setAttribute("role", "img");
    span.setAttribute(
      "aria-label",
      self ? `${source} to itself: not measured` : `${source} to ${destination}: not measured`,
    );
    span.title = self ? "A site does not test itself" : "Not measured";
    return;
  }

  let link = td.firstElementChild;
  if (!link || link.tagName !== "A") {
    link = h("a", { class: "cell", "data-source": source, "data-destination": destination });
    td.replaceChildren(link);
  }
  const any = cells.values().next().value;
  link.href = page.view_url + encodeURIComponent(any.view_id);

  const spoken = [];
  const halves = [];
  let stale = false;
  for (const split of splits) {
    const cell = cells.get(split);
    const label = splitLabel(split);
    if (!cell) {
      halves.push(h("span", { class: "half untested", title: `${label}: not measured` }));
      if (splits.length > 1) spoken.push(`${label}: not measured`);
      continue;
    }
    const text = cell.value === null ? "–" : matrixNumber(cell.value);
    const classes = ["half", cell.colour_class];
    let title = `${label}: ${formatValue(cell.value)}`;
    if (state.mode === "relative") {
      if (cell.value !== null && cell.colour_class === "none") {
        // A value with nothing (or zero) to compare it with: uncoloured, and said why.
        classes.push("no-baseline");
        title +=
          cell.baseline === 0
            ? ` (usually ${formatValue(0)}: no relative change to colour)`
            : " (no baseline to compare with)";
      } else if (cell.baseline !== null && cell.baseline !== undefined) {
        title += ` (usually ${formatValue(cell.baseline)})`;
      }
    }
    if (cell.stale) {
      classes.push("stale");
      title += `, stale: last result ${lastResultText(cell.last_result)}`;
      stale = true;
    }
    halves.push(h("span", { class: classes.join(" "), title, "data-split": split, text }));
    spoken.push(title.replace(/^All: /, ""));
  }
  // A badge in the corner when the pair had events in the last hours (outlined while one is open).
  const found = pairEvents(state.matrix, { source, destination });
  const badge = found.count
    ? h("span", {
        class: `event-badge severity-${severityLevel(found.severity)}${found.open ? " is-open" : ""}`,
        title: eventsSummary(found),
        "aria-hidden": "true",
        text: found.count > 9 ? "9+" : String(found.count),
      })
    : null;
  if (found.count) spoken.push(eventsSummary(found));
  link.className = `cell${halves.length > 1 ? " split" : ""}${stale ? " has-stale" : ""}${found.count ? " has-events" : ""}${found.open ? " event-open" : ""}`;
  link.replaceChildren(...halves, ...(badge ? [badge] : []));
  link.setAttribute(
    "aria-label",
    `${source} to ${destination}: ${spoken.join("; ")}. Opens the graph.`,
  );
}

function renderUpdated(matrix) {
  const updated = h("time", {
    datetime: new Date(matrix.generated * 1000).toISOString(),
    title: `${formatTime(matrix.generated)} · times in ${zoneName()}`,
    text: `${clockTime(matrix.generated)} ${zoneLabel()}`,
  });
  const windowText =
    `Values for ${hourMinute(matrix.start)}–${hourMinute(matrix.end)} (the last closed hour)` +
    `${state.mode === "relative" ? ", compared with each pair's last complete day" : ""}`;
  el.updated.replaceChildren(
    `${windowText} · updated `,
    updated,
    page.refresh_ms === 60000 ? " · refreshes every minute" : ` · refreshes every ${Math.round(page.refresh_ms / 1000)} s`,
  );
}

// ---------------------------------------------------------------- tooltip

function cellElement(pair) {
  if (!pair) return null;
  for (const link of el.table.querySelectorAll("a.cell")) {
    if (link.dataset.source === pair.source && link.dataset.destination === pair.destination) {
      return link;
    }
  }
  return null;
}

function showTooltip(link) {
  const pair = { source: link.dataset.source, destination: link.dataset.destination };
  if (state.hovered && pairKey(state.hovered.source, state.hovered.destination) === pairKey(pair.source, pair.destination)) {
    return;
  }
  hideTooltip();
  state.hovered = pair;
  link.setAttribute("aria-describedby", "matrix-tooltip");
  el.tooltip.dataset.source = pair.source;
  el.tooltip.dataset.destination = pair.destination;
  el.tooltip.dataset.ready = "false";
  el.tooltip.replaceChildren(
    h("p", { class: "tip-title" }, h("strong", { text: pair.source }), " → ", h("strong", { text: pair.destination })),
    currentSection(state.matrix, pair, words),
    eventsSection(state.matrix, pair, words) ?? "",
    h("div", { class: "tip-history" }, h("p", { class: "tip-loading muted", text: "Loading the last 24 hours…" })),
  );
  el.tooltip.hidden = false;
  placeTooltip(link);
  clearTimeout(state.tipTimer);
  // Sweeping the pointer across the table does not fetch every cell it crosses.
  state.tipTimer = setTimeout(() => loadTooltip(pair), TOOLTIP_FETCH_DELAY_MS);
}

async function loadTooltip(pair) {
  const same = () =>
    state.hovered && state.hovered.source === pair.source && state.hovered.destination === pair.destination;
  let data;
  try {
    data = await tooltipData(pair.source, pair.destination);
  } catch (err) {
    if (!same()) return;
    el.tooltip.querySelector(".tip-history").replaceChildren(
      h("p", { class: "tip-error", text: `Could not load the history: ${err.message}` }),
    );
    return;
  }
  if (!same()) return;
  el.tooltip.querySelector(".tip-history").replaceChildren(historySection(data, words));
  el.tooltip.dataset.ready = "true";
  placeTooltip(cellElement(pair));
}

/** After a refresh: the hovered pair's new values, and the tooltip moved to its (new) cell. */
function refreshTooltip() {
  const link = cellElement(state.hovered);
  if (!link) {
    hideTooltip();
    return;
  }
  link.setAttribute("aria-describedby", "matrix-tooltip");
  const current = el.tooltip.querySelector(".tip-current");
  if (current) current.replaceWith(currentSection(state.matrix, state.hovered, words));
  el.tooltip.querySelector(".tip-events-section")?.remove();
  const events = eventsSection(state.matrix, state.hovered, words);
  if (events) el.tooltip.querySelector(".tip-current")?.after(events);
  placeTooltip(link);
}

function hideTooltip() {
  clearTimeout(state.tipTimer);
  const link = cellElement(state.hovered);
  if (link) link.removeAttribute("aria-describedby");
  state.hovered = null;
  el.tooltip.hidden = true;
  el.tooltip.dataset.ready = "false";
}

function placeTooltip(link) {
  if (!link || el.tooltip.hidden) return;
  const cell = link.getBoundingClientRect();
  const tip = el.tooltip.getBoundingClientRect();
  const margin = 8;
  let left = cell.right + margin;
  if (left + tip.width > window.innerWidth - margin) left = cell.left - tip.width - margin;
  left = Math.max(margin, left);
  let top = cell.top;
  if (top + tip.height > window.innerHeight - margin) top = window.innerHeight - tip.height - margin;
  top = Math.max(margin, top);
  el.tooltip.style.left = `${Math.round(left)}px`;
  el.tooltip.style.top = `${Math.round(top)}px`;
}

// ---------------------------------------------------------------- controls

function pageURL(metric, src, dst) {
  const path = page.page_url
    .replace("{metric}", encodeURIComponent(metric))
    .replace("{src}", encodeURIComponent(src))
    .replace("{dst}", encodeURIComponent(dst));
  return withParams(path, { mode: state.mode === "absolute" ? null : state.mode });
}

function setMode(mode, { push }) {
  if (mode !== "absolute" && mode !== "relative") mode = "absolute";
  const changed = mode !== state.mode;
  state.mode = mode;
  if (push && changed) history.pushState({ mode }, "", pageURL(page.metric, page.src_mesh, page.dst_mesh));
  for (const button of document.querySelectorAll(".matrix-mode [data-mode]")) {
    const on = button.dataset.mode === mode;
    button.setAttribute("aria-pressed", String(on));
    button.classList.toggle("outline", !on);
  }
  for (const list of document.querySelectorAll(".legend-list[data-mode]")) {
    list.hidden = list.dataset.mode !== mode;
  }
  for (const tab of document.querySelectorAll(".matrix-tabs a[data-metric]")) {
    tab.href = pageURL(tab.dataset.metric, page.src_mesh, page.dst_mesh);
  }
  if (changed) {
    delete document.body.dataset.matrixReady;
    refresh();
  }
}

function onMeshChange() {
  window.location.assign(pageURL(page.metric, el.srcMesh.value, el.dstMesh.value));
}

function hoveredLink(target) {
  return target instanceof Element ? target.closest("a.cell[data-source]") : null;
}

el.table.addEventListener("mouseover", (event) => {
  const link = hoveredLink(event.target);
  if (link) showTooltip(link);
});
el.table.addEventListener("mouseout", (event) => {
  const from = hoveredLink(event.target);
  if (from && !from.contains(event.relatedTarget)) hideTooltip();
});
el.table.addEventListener("focusin", (event) => {
  const link = hoveredLink(event.target);
  if (link) showTooltip(link);
});
el.table.addEventListener("focusout", () => hideTooltip());
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") hideTooltip();
});
window.addEventListener("scroll", () => placeTooltip(cellElement(state.hovered)), { passive: true });
window.addEventListener("resize", () => placeTooltip(cellElement(state.hovered)));

for (const button of document.querySelectorAll(".matrix-mode [data-mode]")) {
  button.addEventListener("click", (event) => {
    event.preventDefault();
    setMode(button.dataset.mode, { push: true });
  });
}
window.addEventListener("popstate", () => {
  const mode = new URLSearchParams(window.location.search).get("mode") || "absolute";
  setMode(mode, { push: false });
});
el.srcMesh.addEventListener("change", onMeshChange);
el.dstMesh.addEventListener("change", onMeshChange);
// The choosers navigate on change; the form itself never submits.
$("matrix-controls").addEventListener("submit", (event) => event.preventDefault());

// Refresh every minute while the page is visible, and at once when it comes back after longer.
setInterval(() => {
  if (!document.hidden && !state.inflight) refresh();
}, page.refresh_ms);
// The header's UTC/local switch: every time on the page is drawn again.
window.addEventListener(TIMEZONE_CHANGED, () => {
  if (state.matrix) render(state.matrix);
});
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && !state.inflight && Date.now() - state.fetchedAt > page.refresh_ms) refresh();
});

refresh();
