// The traceroute path map (style "traceroute") and AS path (style "as-path")
// pages: a 30-day path-length summary to choose a period from, and below it
// the distinct IP paths of the period as a graph of hops (laid out by dagre),
// or the AS path over time as a "rainbow" with the list of its changes. The
// summary marks the events of the view's streams on its time axis, as the
// other graph pages do (lib/view-events.js); a marker opens its groups.
//
// The page's initial data comes from <script type="application/json" id="page-data">.
// When the period's paths are drawn, <body data-paths-ready="true">; the hop
// graph's <svg> carries data-nodes and data-edges. The summary graph's
// data-events-ready is "true" once its events are in.

import uPlot from "../vendor/uplot/uPlot.esm.js";
import dagre from "../vendor/dagre/dagre.esm.js";
import { fetchJSON, withParams } from "./lib/api.js";
import { h as element, svg as svgElement } from "./lib/dom.js";
import { showMessage } from "./lib/form-dialog.js";
import { share as percent } from "./lib/format.js";
import { rangeHighlightPlugin } from "./lib/plugins.js";
import * as R from "./lib/range.js";
import { DAY, formatRange, formatSpan, formatUTC } from "./lib/time.js";
import { viewEvents } from "./lib/view-events.js";
import { counted, plural } from "./lib/words.js";

const SUMMARY_HEIGHT = 150;
const AS_NULL = -1;
const AS_PRIVATE = -2;
const AS_UNKNOWN = 0;

const $ = (id) => document.getElementById(id);
const pageData = JSON.parse($("page-data").textContent);
const loadedAt = Date.now();
const now = () => Math.floor(pageData.now + (Date.now() - loadedAt) / 1000);

const state = {
  range: clampSpan(initialRange()),
  summary: null,
  detailRequest: null,
};

/** The events of the view's streams in the summary's range, marked on it (times in UTC, as on the page). */
const summaryEvents = viewEvents({
  apiUrl: pageData.events_api_url,
  eventsUrl: pageData.events_url,
  viewId: pageData.view_id,
  container: $("summary-graph"),
  formatTime: (ts) => `${formatUTC(ts)} UTC`,
  redraw: () => state.summary?.redraw(false, false),
});

// ---------------------------------------------------------------- helpers

function initialRange() {
  if (pageData.start != null && pageData.end != null && pageData.end > pageData.start) {
    return [pageData.start, pageData.end];
  }
  let end = now();
  if (pageData.last != null && pageData.last < end - DAY) end = Math.ceil((pageData.last + 1) / 300) * 300;
  return [end - pageData.default_span, end];
}

/** The period shortened to its last max_span seconds (the API refuses longer ones). */
function clampSpan([start, end]) {
  const [s, e] = R.normalise([start, end]);
  return e - s > pageData.max_span ? [e - pageData.max_span, e] : [s, e];
}

function showError(message) {
  showMessage($("paths-alert"), message);
}

function busy(id, on) {
  $(id).hidden = !on;
}

/** Colours of AS numbers: a golden-angle hue per ASN; the special values in greys. */
function asColour(asn, { strong = false } = {}) {
  if (asn === null || asn === undefined) return strong ? "#6b7280" : "#ffffff";
  if (asn === AS_NULL) return strong ? "#9ca3af" : "#f3f4f6";
  if (asn === AS_PRIVATE) return strong ? "#6b7280" : "#e5e7eb";
  if (asn === AS_UNKNOWN) return strong ? "#78716c" : "#f5f5f4";
  const hue = (asn * 137.508) % 360;
  return strong ? `hsl(${hue.toFixed(0)}, 45%, 42%)` : `hsl(${hue.toFixed(0)}, 70%, 86%)`;
}

function asName(asn) {
  if (asn === null || asn === undefined) return "AS not known";
  if (asn === AS_NULL) return "no reply";
  if (asn === AS_PRIVATE) return "private address";
  if (asn === AS_UNKNOWN) return "AS unknown";
  return `AS${asn}`;
}

// ---------------------------------------------------------------- tooltip

const tooltip = $("hop-tooltip");

function showTooltip(event, lines) {
  tooltip.replaceChildren();
  lines.forEach((text, i) => tooltip.append(i === 0 ? element("strong", {}, text) : element("div", {}, text)));
  tooltip.hidden = false;
  const pad = 14;
  const { innerWidth, innerHeight } = window;
  const rect = tooltip.getBoundingClientRect();
  let x = event.clientX + pad;
  let y = event.clientY + pad;
  if (x + rect.width > innerWidth - 4) x = event.clientX - rect.width - pad;
  if (y + rect.height > innerHeight - 4) y = event.clientY - rect.height - pad;
  tooltip.style.left = `${Math.max(4, x)}px`;
  tooltip.style.top = `${Math.max(4, y)}px`;
}

function hideTooltip() {
  tooltip.hidden = true;
}

// ---------------------------------------------------------------- period and URL

function setRange(range, { push = true } = {}) {
  state.range = clampSpan(range);
  if (push) {
    const url = R.rangeUrl(pageData.view_url, state.range);
    if (url !== window.location.pathname) window.history.pushState({ range: state.range }, "", url);
  }
  showRange();
  if (state.summary) state.summary.redraw(false);
  loadDetail();
}

function showRange() {
  const [start, end] = state.range;
  $("range-text").textContent = formatRange(start, end);
  $("range-span").textContent = formatSpan(end - start);
  $("csv-link").href = withParams(pageData.paths_url, { kind: pageData.kind, start, end, format: "csv" });
  $("csv-link").setAttribute("download", `${pageData.kind}-paths-${pageData.view_id}-${start}-${end}.csv`);
}

window.addEventListener("popstate", () => {
  const range = R.parseRangeUrl(pageData.view_url, window.location.pathname);
  if (range) setRange(range, { push: false });
});

for (const button of document.querySelectorAll("[data-span]")) {
  button.addEventListener("click", () => setRange(R.preset(state.range, Number(button.dataset.span))));
}

// ---------------------------------------------------------------- summary graph

function summaryRange() {
  const end = Math.max(now(), state.range[1]);
  return [Math.min(end - R.SUMMARY_SPAN, state.range[0]), end];
}

async function loadSummary() {
  const [start, end] = summaryRange();
  // It reaches the present, and further back than 30 days when the period chosen does.
  $("summary-span").textContent = `the last ${formatSpan(end - start)}`;
  busy("summary-status", true);
  summaryEvents.load([start, end]);
  try {
    const answer = await fetchJSON(withParams(pageData.history_url, { start, end, detail: "summary" }));
    drawSummary(answer, [start, end]);
  } catch (err) {
    showError(`The summary graph could not be loaded: ${err.message}`);
  } finally {
    busy("summary-status", false);
  }
}

function drawSummary(answer, [start, end]) {
  const line = (answer.lines || [])[0];
  const xs = [];
  const ys = [];
  if (line) {
    const t = line.columns.indexOf("timestamp");
    const v = line.columns.indexOf(pageData.column);
    const half = (line.binsize || 0) / 2;
    for (const row of line.rows) {
      xs.push(row[t] + half);
      ys.push(row[v] == null ? null : Number(row[v]));
    }
  }
  const container = $("summary-graph");
  const colour = (pageData.lines[0] && pageData.lines[0].colour) || "#1d4ed8";
  const opts = {
    width: container.clientWidth || 900,
    height: SUMMARY_HEIGHT,
    scales: { x: { time: true, range: () => [start, end] }, y: { range: (u, lo, hi) => [0, Math.max(4, Math.ceil((hi || 0) + 1))] } },
    legend: { show: false },
    cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
    select: { show: true },
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
    axes: [
      { stroke: "#4b5563", grid: { stroke: "rgba(0,0,0,0.06)" } },
      { stroke: "#4b5563", size: 50, grid: { stroke: "rgba(0,0,0,0.06)" }, label: pageData.kind === "ip" ? "hops" : "AS hops", labelSize: 16 },
    ],
    series: [{}, { stroke: colour, width: 1.5, paths: uPlot.paths.stepped({ align: 1 }), spanGaps: false, fill: "rgba(29, 78, 216, 0.06)" }],
    plugins: [
      rangeHighlightPlugin({ get: () => state.range }),
      summaryEvents.plugin(),
    ],
    hooks: {
      setSelect: [
        (u) => {
          if (u.select.width < 3) return;
          const from = u.posToVal(u.select.left, "x");
          const to = u.posToVal(u.select.left + u.select.width, "x");
          u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
          setRange([from, Math.min(to, now())]);
        },
      ],
    },
  };
  if (state.summary) state.summary.destroy();
  state.summary = new uPlot(opts, [xs, ys], container);
  container.dataset.points = String(ys.filter((y) => y !== null).length);
}

window.addEventListener("resize", () => {
  if (state.summary) state.summary.setSize({ width: $("summary-graph").clientWidth, height: SUMMARY_HEIGHT });
  if (state.rainbowAnswer) drawRainbow(state.rainbowAnswer);
});

// ---------------------------------------------------------------- the period's paths

async function loadDetail() {
  const [start, end] = state.range;
  if (state.detailRequest) state.detailRequest.abort();
  const controller = new AbortController();
  state.detailRequest = controller;
  document.body.dataset.pathsReady = "false";
  busy("detail-status", true);
  try {
    const answer = await fetchJSON(withParams(pageData.paths_url, { kind: pageData.kind, start, end }), {
      signal: controller.signal,
    });
    showError("");
    if (pageData.kind === "ip") drawHopGraph(answer);
    else drawRainbow(answer);
    document.body.dataset.pathsReady = "true";
  } catch (err) {
    if (err.name === "AbortError") return;
    showError(`The paths could not be loaded: ${err.message}`);
  } finally {
    if (state.detailRequest === controller) {
      state.detailRequest = null;
      busy("detail-status", false);
    }
  }
}

// ---------------------------------------------------------------- hop graph

/**
 * The hop graph of a line's paths: nodes by address (a silent hop is a node of
 * its own per position after the last answering hop), edges counted by how
 * many rows of the period took them.
 */
function buildHopGraph(line) {
  const nodes = new Map();
  const edges = new Map();
  const node = (id, init) => {
    if (!nodes.has(id)) nodes.set(id, { id, count: 0, hops: new Set(), paths: new Set(), ...init });
    return nodes.get(id);
  };
  const edge = (from, to, init = {}) => {
    const key = `${from}\u0000${to}`;
    if (!edges.has(key)) edges.set(key, { key, from, to, count: 0, paths: new Set(), ...init });
    return edges.get(key);
  };
  const source = node("source", { kind: "source", label: line.source || "source" });
  line.paths.forEach((path, index) => {
    source.count += path.count;
    source.paths.add(index);
    let previous = "source";
    let lastAnswer = "source";
    path.hops.forEach((hop, i) => {
      const position = i + 1;
      let id;
      if (hop.address) {
        id = `ip:${hop.address}`;
        lastAnswer = id;
      } else {
        id = `silent:${position}:${lastAnswer}`;
      }
      const n = node(id, { kind: hop.address ? "hop" : "silent", address: hop.address, asn: hop.asn });
      if (n.asn == null && hop.asn != null) n.asn = hop.asn;
      n.hops.add(position);
      if (!n.paths.has(index)) n.count += path.count;
      n.paths.add(index);
      if (path.reached && position === path.hops.length) n.destination = true;
      if (id !== previous) {
        const e = edge(previous, id);
        if (!e.paths.has(index)) e.count += path.count;
        e.paths.add(index);
      }
      previous = id;
    });
    if (!path.reached) {
      const end = node("unreached", { kind: "unreached", label: `${line.destination || "destination"} not reached` });
      if (!end.paths.has(index)) end.count += path.count;
      end.paths.add(index);
      const e = edge(previous, "unreached", { unreached: true });
      if (!e.paths.has(index)) e.count += path.count;
      e.paths.add(index);
    }
  });
  return { nodes, edges };
}

function nodeSize(n, destination) {
  if (n.kind === "silent") return [34, 22];
  const text = n.kind === "hop" ? n.address : n.label;
  // The second line (AS, and the destination's name) is set smaller.
  const second = n.kind === "hop" ? hopCaption(n, destination).length * 6 : 0;
  return [Math.max(70, text.length * 7 + 18, second + 16), n.kind === "hop" ? 34 : 26];
}

function hopCaption(n, destination) {
  return n.destination ? `${destination} · ${asName(n.asn)}` : asName(n.asn);
}

function curve(points) {
  if (points.length < 3) return `M${points.map((p) => `${p.x},${p.y}`).join("L")}`;
  let d = `M${points[0].x},${points[0].y}`;
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i];
    const q = points[i + 1];
    const mx = i === points.length - 2 ? q.x : (p.x + q.x) / 2;
    const my = i === points.length - 2 ? q.y : (p.y + q.y) / 2;
    d += `Q${p.x},${p.y} ${mx},${my}`;
  }
  return d;
}

function drawHopGraph(answer) {
  const container = $("hop-graph");
  const tbody = $("paths-table").querySelector("tbody");
  container.replaceChildren();
  tbody.replaceChildren();
  const line = (answer.lines || [])[0];
  const paths = line ? line.paths : [];
  $("detail-empty").hidden = paths.length > 0;
  $("paths-count").textContent = line
    ? `${counted(paths.length, "distinct path")} in ${counted(line.observations, "traceroute")}`
    : "";
  container.hidden = paths.length === 0;
  if (!paths.length) return;

  const { nodes, edges } = buildHopGraph(line);
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "TB", nodesep: 18, ranksep: 34, edgesep: 10, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes.values()) {
    const [width, height] = nodeSize(n, line.destination);
    g.setNode(n.id, { width, height });
  }
  for (const e of edges.values()) g.setEdge(e.from, e.to, { weight: e.count, minlen: 1 });
  dagre.layout(g);
  const { width, height } = g.graph();

  const svg = svgElement("svg", {
    width: Math.ceil(width),
    height: Math.ceil(height),
    viewBox: `0 0 ${Math.ceil(width)} ${Math.ceil(height)}`,
    role: "img",
    "aria-label": "Graph of the hops of the paths taken",
  });
  const defs = svgElement("defs");
  const marker = svgElement("marker", { id: "hop-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" });
  marker.append(svgElement("path", { d: "M0,0L10,5L0,10z", fill: "#64748b" }));
  defs.append(marker);
  svg.append(defs);

  const total = line.observations;
  const maxCount = Math.max(...[...edges.values()].map((e) => e.count), 1);
  const edgeLayer = svgElement("g", { class: "edges" });
  for (const e of edges.values()) {
    const points = g.edge(e.from, e.to).points;
    const path = svgElement("path", {
      class: `edge${e.unreached ? " is-unreached" : ""}`,
      d: curve(points),
      "stroke-width": (1.2 + (9 * e.count) / maxCount).toFixed(2),
      "marker-end": "url(#hop-arrow)",
      "data-key": e.key,
    });
    e.element = path;
    edgeLayer.append(path);
  }
  svg.append(edgeLayer);

  const nodeLayer = svgElement("g", { class: "nodes" });
  for (const n of nodes.values()) {
    const { x, y, width: w, height: h } = g.node(n.id);
    const group = svgElement("g", {
      class: `node is-${n.kind}${n.destination ? " is-destination" : ""}`,
      transform: `translate(${x - w / 2},${y - h / 2})`,
      "data-id": n.id,
    });
    group.append(
      svgElement("rect", {
        width: w,
        height: h,
        rx: n.kind === "silent" ? 11 : 4,
        fill: n.kind === "hop" ? asColour(n.asn) : "#fff",
        stroke: n.kind === "hop" ? asColour(n.asn, { strong: true }) : "#9ca3af",
      }),
    );
    const label = svgElement("text", { x: w / 2, y: n.kind === "hop" ? 14 : h / 2 + 4, "text-anchor": "middle" });
    label.textContent = n.kind === "silent" ? "*" : n.kind === "hop" ? n.address : n.label;
    group.append(label);
    if (n.kind === "hop") {
      const asn = svgElement("text", { class: "asn", x: w / 2, y: 27, "text-anchor": "middle" });
      asn.textContent = hopCaption(n, line.destination);
      group.append(asn);
    }
    n.element = group;
    nodeLayer.append(group);
  }
  svg.append(nodeLayer);
  svg.dataset.nodes = String(nodes.size);
  svg.dataset.edges = String(edges.size);
  container.append(svg);

  const byNode = new Map([...nodes.values()].map((n) => [n.id, n]));
  const byEdge = new Map([...edges.values()].map((e) => [e.key, e]));
  const describeNode = (n) => {
    const hops = [...n.hops].sort((a, b) => a - b).join(", ");
    const seen = `on ${n.paths.size} of ${counted(paths.length, "path")}, ${n.count} of ${counted(total, "traceroute")} (${percent(n.count, total)})`;
    if (n.kind === "source") return [`${n.label} (source)`, `${counted(total, "traceroute")} in the period`];
    if (n.kind === "unreached") return [n.label, `the path ended without an answer from the destination`, seen];
    if (n.kind === "silent") return [`no reply at ${plural("hop", n.hops.size)} ${hops}`, seen];
    return [n.address, `${asName(n.asn)}${n.destination ? ` · destination ${line.destination}` : ""}`, `${plural("hop", n.hops.size)} ${hops}`, seen];
  };
  const nodeName = (id) => {
    const n = byNode.get(id);
    return n.kind === "hop" ? n.address : n.kind === "silent" ? "*" : n.label;
  };
  svg.addEventListener("mousemove", (event) => {
    const target = event.target.closest("[data-id], [data-key]");
    if (!target) return hideTooltip();
    if (target.dataset.id) return showTooltip(event, describeNode(byNode.get(target.dataset.id)));
    const e = byEdge.get(target.dataset.key);
    showTooltip(event, [
      `${nodeName(e.from)} → ${nodeName(e.to)}`,
      `${e.count} of ${counted(total, "traceroute")} (${percent(e.count, total)})`,
      `on ${e.paths.size} of ${counted(paths.length, "path")}`,
    ]);
  });
  svg.addEventListener("mouseleave", hideTooltip);

  // The table of paths: hovering a row previews that path alone in the graph;
  // clicking it (or Enter) opens it: the path stays highlighted, its row marked
  // and the map scrolled to it, until it is clicked again or another is opened.
  let opened = null;
  const focus = (index) => {
    container.classList.toggle("is-focused", index !== null);
    container.dataset.focused = index === null ? "" : String(index);
    for (const item of [...nodes.values(), ...edges.values()]) {
      item.element.classList.toggle("is-on", index !== null && item.paths.has(index));
    }
  };
  const rows = [];
  const open = (index) => {
    opened = opened === index ? null : index;
    rows.forEach((row, k) => row.setAttribute("aria-selected", String(k === opened)));
    focus(opened);
    if (opened !== null) container.scrollIntoView({ block: "nearest", behavior: "smooth" });
  };
  paths.forEach((path, index) => {
    const row = element("tr", { tabindex: "0", "aria-selected": "false", title: "Show this path in the map" });
    const hops = path.hops.map((h) => h.address || "*").join(" › ");
    row.append(
      element("td", {}, String(index + 1)),
      element("td", {}, String(path.count)),
      element("td", {}, percent(path.count, total)),
      element("td", { class: "hops-cell", title: hops }, counted(path.length, "hop")),
      element("td", {}, path.reached ? "yes" : "no"),
      element("td", {}, formatUTC(path.first_seen)),
      element("td", {}, formatUTC(path.last_seen)),
    );
    row.addEventListener("mouseenter", () => focus(index));
    row.addEventListener("mouseleave", () => focus(opened));
    row.addEventListener("click", () => open(index));
    row.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        open(index);
      }
    });
    rows.push(row);
    tbody.append(row);
  });
}

// ---------------------------------------------------------------- AS path rainbow

function niceTimeStep(span) {
  const steps = [300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, DAY, 2 * DAY, 7 * DAY];
  return steps.find((s) => span / s <= 8) || 7 * DAY;
}

function drawRainbow(answer) {
  state.rainbowAnswer = answer;
  const container = $("rainbow");
  const key = $("as-key");
  const tbody = $("changes-table").querySelector("tbody");
  container.replaceChildren();
  key.replaceChildren();
  tbody.replaceChildren();
  const line = (answer.lines || [])[0];
  const segments = line ? line.segments : [];
  $("detail-empty").hidden = segments.length > 0;
  $("changes-count").textContent = line ? `(${line.changes.length})` : "";
  if (!segments.length) return;
  const paths = new Map(line.paths.map((p) => [p.path_id, p]));
  const maxHops = Math.max(...line.paths.map((p) => p.hop_count), 1);
  const [start, end] = [answer.start, answer.end];
  const width = Math.max(600, container.clientWidth || 900);
  const margin = { left: 48, right: 12, top: 10, bottom: 34 };
  const hopHeight = Math.max(10, Math.min(22, 320 / maxHops));
  const plotHeight = hopHeight * maxHops;
  const height = margin.top + plotHeight + margin.bottom;
  const x = (ts) => margin.left + ((ts - start) / (end - start)) * (width - margin.left - margin.right);
  const svg = svgElement("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "AS path over time" });

  const axis = svgElement("g", { class: "axis" });
  for (let hop = 0; hop <= maxHops; hop += maxHops > 12 ? 5 : 2) {
    const y = margin.top + plotHeight - hop * hopHeight;
    axis.append(svgElement("line", { x1: margin.left, x2: width - margin.right, y1: y, y2: y }));
    const label = svgElement("text", { x: margin.left - 6, y: y + 4, "text-anchor": "end" });
    label.textContent = String(hop);
    axis.append(label);
  }
  const hopsLabel = svgElement("text", { x: 12, y: margin.top + plotHeight / 2, transform: `rotate(-90 12 ${margin.top + plotHeight / 2})`, "text-anchor": "middle" });
  hopsLabel.textContent = "hops";
  axis.append(hopsLabel);
  const step = niceTimeStep(end - start);
  for (let ts = Math.ceil(start / step) * step; ts <= end; ts += step) {
    const tx = x(ts);
    const text = svgElement("text", { x: tx, y: height - 12, "text-anchor": "middle" });
    text.textContent = step >= DAY ? formatUTC(ts).slice(5, 10) : formatUTC(ts).slice(11, 16);
    axis.append(svgElement("line", { x1: tx, x2: tx, y1: margin.top + plotHeight, y2: margin.top + plotHeight + 4 }));
    axis.append(text);
  }
  svg.append(axis);

  const bands = svgElement("g", { class: "bands" });
  const interval = line.interval || 900;
  const seenAsns = new Map();
  for (const segment of segments) {
    const path = paths.get(segment.path_id);
    const x0 = x(Math.max(start, segment.first));
    const x1 = x(Math.min(end, segment.last + interval));
    let hop = 0;
    for (const [asn, count] of path.path) {
      seenAsns.set(asn, (seenAsns.get(asn) || 0) + segment.count);
      const rect = svgElement("rect", {
        class: "band",
        x: x0.toFixed(1),
        width: Math.max(1, x1 - x0).toFixed(1),
        y: margin.top + plotHeight - (hop + count) * hopHeight,
        height: count * hopHeight,
        fill: asColour(asn, { strong: asn > 0 }),
        "fill-opacity": asn > 0 ? 0.85 : 1,
      });
      rect.dataset.tip = JSON.stringify([
        asName(asn),
        count === 1 ? `hop ${hop + 1}` : `hops ${hop + 1}–${hop + count}`,
        `${formatUTC(segment.first)} → ${formatUTC(segment.last)} UTC, ${counted(segment.count, "traceroute")}`,
        `path ${segment.path_id}: ${counted(path.length, "AS hop")}, ${counted(path.hop_count, "IP hop")}`,
      ]);
      bands.append(rect);
      hop += count;
    }
  }
  svg.append(bands);
  for (const change of line.changes) {
    const cx = x(change.timestamp);
    svg.append(svgElement("line", { class: "change-mark", x1: cx, x2: cx, y1: margin.top, y2: margin.top + plotHeight }));
  }
  svg.addEventListener("mousemove", (event) => {
    const tip = event.target.dataset && event.target.dataset.tip;
    if (tip) showTooltip(event, JSON.parse(tip));
    else hideTooltip();
  });
  svg.addEventListener("mouseleave", hideTooltip);
  svg.dataset.segments = String(segments.length);
  container.append(svg);

  for (const [asn] of [...seenAsns.entries()].sort((a, b) => b[1] - a[1])) {
    const item = element("li");
    item.append(element("span", { class: "as-chip", style: `background: ${asColour(asn, { strong: asn > 0 })}` }, "\u00a0"), asName(asn));
    key.append(item);
  }

  const chips = (pathId) => {
    const cell = element("td");
    for (const [asn, count] of paths.get(pathId).path) {
      const light = asn > 0 ? asColour(asn) : asColour(asn);
      cell.append(element("span", { class: "as-chip", style: `background: ${light}` }, `${asName(asn)}${count > 1 ? ` ×${count}` : ""}`));
    }
    return cell;
  };
  for (const change of line.changes) {
    const row = element("tr");
    row.append(element("td", {}, formatUTC(change.timestamp)), chips(change.from_path_id), chips(change.to_path_id));
    tbody.append(row);
  }
  if (!line.changes.length) {
    const row = element("tr");
    row.append(element("td", { colspan: "3", class: "muted" }, "The AS path did not change in this period."));
    tbody.append(row);
  }
}

// ---------------------------------------------------------------- start

showRange();
if (!pageData.lines.length) {
  showError("This view has no traceroute group to draw.");
} else {
  loadSummary();
  loadDetail();
}
