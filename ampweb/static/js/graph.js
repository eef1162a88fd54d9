// The latency graph page: a detail graph (smoke, latency line, loss) over the
// selected range and a 30-day summary graph to pick ranges from. The page's
// initial data comes from <script type="application/json" id="page-data">.
//
// When the detail graph has drawn data it sets <body data-graph-ready="true">
// and data-points (non-null latency points) on #detail-graph; while a new
// range loads, data-graph-ready is "false".

import uPlot from "../vendor/uplot/uPlot.esm.js";
import { fetchJSON, toSeries, withParams } from "./lib/api.js";
import { lossColour, lossStripPlugin, rangeHighlightPlugin, smokeAlphas, smokePlugin } from "./lib/plugins.js";
import * as R from "./lib/range.js";
import { DAY, formatRange, formatSpan, formatUTC } from "./lib/time.js";

const LATENCY_COLOUR = "#1d4ed8";
const LOSS_RGB = "220, 38, 38";
const LOSS_COLOUR = `rgb(${LOSS_RGB})`;
const SMOKE_RGB = "55, 65, 81";
const AXIS_COLOUR = "#4b5563";
const GRID_COLOUR = "rgba(0, 0, 0, 0.07)";
const LEFT_AXIS = 64; // both graphs share axis widths so their time axes line up
const RIGHT_AXIS = 52;
const DETAIL_HEIGHT = 400;
const SUMMARY_HEIGHT = 130;
const WHEEL_DEBOUNCE_MS = 400;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

// Series indexes of the detail graph.
const S_LATENCY = 1;
const S_SMOKE = 2;
const S_LOSS = 3;

const $ = (id) => document.getElementById(id);
const pageData = JSON.parse($("page-data").textContent);
const loadedAt = Date.now();
/** The server's clock (page_data.now) moved on by the time the page has been open. */
const now = () => Math.floor(pageData.now + (Date.now() - loadedAt) / 1000);

const el = {
  detail: $("detail-graph"),
  summary: $("summary-graph"),
  alert: $("graph-alert"),
  label: $("detail-label"),
  detailStatus: $("detail-status"),
  summaryStatus: $("summary-status"),
  detailEmpty: $("detail-empty"),
  rangeText: $("range-text"),
  rangeSpan: $("range-span"),
  csv: $("csv-link"),
  toolbar: $("graph-toolbar"),
  smokeKey: $("smoke-key"),
};

const state = {
  range: R.initialRange(pageData, now()),
  summaryRange: null,
  detail: null, // toSeries() of the detail data
  summary: null, // toSeries() of the summary data
  errors: { detail: null, summary: null },
  detailRequest: null,
  summaryRequest: null,
  readyPending: false,
  wheelTimer: null,
  wheelRange: null,
};

// ---------------------------------------------------------------- formatting

const pad = (n) => String(n).padStart(2, "0");

function fmtMs(v) {
  return v == null ? "—" : `${v.toFixed(1)} ms`;
}

/** Tick labels of a UTC time axis: times, with the date under the first tick of each day. */
function timeTicks(u, splits, axisIdx, space, incr) {
  let lastDay = null;
  return splits.map((ts) => {
    if (ts == null) return null;
    const d = new Date(ts * 1000);
    const day = `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
    if (incr >= 28 * DAY) return `${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
    if (incr >= DAY) return day;
    const hm = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
    const text = day !== lastDay ? `${hm}\n${day}` : hm;
    lastDay = day;
    return text;
  });
}

function msTicks(u, splits) {
  return splits.map((v) => (v == null ? null : `${+v.toFixed(3)} ms`));
}

/** A "nice" tick step for a span: 1, 2, 2.5 or 5 times a power of ten. */
function niceStep(span) {
  const raw = span / 5;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

/**
 * The y range for [lo, hi] ms: padded a little, never below 0, and rounded
 * out to tick steps. An empty graph gets 0–10 ms.
 */
function fitRange(lo, hi) {
  if (!(hi >= lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 10];
  const pad = Math.max((hi - lo) * 0.1, hi * 0.02, 0.1);
  let lower = Math.max(0, lo - pad);
  let upper = hi + pad;
  const step = niceStep(upper - lower);
  lower = Math.max(0, Math.floor(lower / step) * step);
  upper = Math.ceil(upper / step) * step;
  return [lower, upper];
}

/** The lowest and highest latency or smoke value in view, or [Infinity, -Infinity]. */
function visibleExtent(u, data, { latency = true, smoke = true }) {
  let lo = Infinity;
  let hi = -Infinity;
  if (!data || data.x.length === 0) return [lo, hi];
  const idxs = u.series[0].idxs;
  const i0 = idxs && idxs[0] != null ? idxs[0] : 0;
  const i1 = idxs && idxs[1] != null ? Math.min(idxs[1], data.x.length - 1) : data.x.length - 1;
  for (let i = i0; i <= i1; i++) {
    const v = data.latency[i];
    if (latency && v != null) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const s = data.smoke[i];
    if (smoke && s) {
      const bottom = data.min[i] != null ? data.min[i] : s.find((x) => x != null);
      let top = null;
      for (let k = s.length - 1; k >= 0 && top == null; k--) top = s[k];
      if (bottom != null && bottom < lo) lo = bottom;
      if (top != null && top > hi) hi = top;
    }
  }
  return [lo, hi];
}

/** Indexes of points with no neighbour: a line has nothing to draw there, so they get a dot. */
function isolatedPoints(values) {
  const idxs = [];
  for (let i = 0; i < values.length; i++) {
    if (values[i] != null && (i === 0 || values[i - 1] == null) && (i === values.length - 1 || values[i + 1] == null)) {
      idxs.push(i);
    }
  }
  return idxs.length ? idxs : null;
}

// ---------------------------------------------------------------- alerts and status

function renderAlert() {
  const messages = [];
  if (state.errors.detail) messages.push(state.errors.detail);
  if (state.errors.summary && state.errors.summary !== state.errors.detail) {
    messages.push(`Summary graph: ${state.errors.summary}`);
  }
  el.alert.replaceChildren();
  if (messages.length === 0) {
    el.alert.hidden = true;
    return;
  }
  const title = document.createElement("strong");
  title.textContent = "Could not load the graph data. ";
  el.alert.append(title);
  messages.forEach((m, i) => {
    if (i) el.alert.append(document.createElement("br"));
    el.alert.append(document.createTextNode(m));
  });
  el.alert.hidden = false;
}

function setLoading(container, status, loading) {
  container.classList.toggle("is-loading", loading);
  container.dataset.loading = loading ? "true" : "false";
  if (status) status.hidden = !loading;
}

// ---------------------------------------------------------------- the detail graph

function cursorDot(size) {
  const dot = document.createElement("div");
  dot.style.width = dot.style.height = `${size}px`;
  dot.style.marginLeft = dot.style.marginTop = `${-size / 2}px`;
  dot.style.borderWidth = "2px";
  return dot;
}

function detailData(d) {
  if (!d) return [[], [], [], []];
  const median = d.smoke.map((s) => (s ? s[Math.floor((s.length - 1) / 2)] : null));
  const lossPct = d.lossrate.map((f) => (f == null ? null : f * 100));
  return [d.x, d.latency, median, lossPct];
}

function binText(d, idx) {
  if (!d || idx == null || d.binStart[idx] == null) return "—";
  const start = d.binStart[idx];
  const end = start + d.binsize;
  const a = formatUTC(start);
  const b = formatUTC(end);
  // Same day: only the time of the end.
  const endText = a.slice(0, 10) === b.slice(0, 10) ? b.slice(11) : b;
  return `${a}–${endText} UTC`;
}

function smokeLegendValue(u, v, sidx, idx) {
  const d = state.detail;
  if (!d || idx == null || !d.smoke[idx]) return "—";
  const s = d.smoke[idx];
  const lo = s[0];
  const hi = s.length >= 2 ? s[s.length - 2] : s[0]; // the 5th and 95th of 5th..100th
  if (lo == null || hi == null) return "—";
  return `${lo.toFixed(1)}–${hi.toFixed(1)} ms`;
}

function lossLegendValue(u, v, sidx, idx) {
  const d = state.detail;
  if (!d || idx == null || d.lossrate[idx] == null) return "—";
  const pct = d.lossrate[idx] * 100;
  const results = d.results[idx];
  const lost = d.loss[idx];
  const detail = results ? ` (${lost ?? 0}/${results})` : "";
  return `${pct >= 10 || pct === 0 ? pct.toFixed(0) : pct.toFixed(1)}%${detail}`;
}

function makeDetail() {
  const opts = {
    width: el.detail.clientWidth || 800,
    height: DETAIL_HEIGHT,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
    cursor: {
      drag: { x: true, y: false, setScale: false },
      bind: { dblclick: () => null },
      // A hover dot on the latency line only (the smoke and loss series have no line).
      points: {
        show: (u, sidx) => (sidx === S_LATENCY ? cursorDot(9) : null),
        width: 2,
      },
    },
    legend: { live: true },
    scales: {
      x: { time: true },
      ms: {
        range: (u) =>
          fitRange(
            ...visibleExtent(u, state.detail, {
              latency: u.series[S_LATENCY].show,
              smoke: u.series[S_SMOKE].show,
            }),
          ),
      },
      loss: { auto: false, range: [0, 100] },
    },
    series: [
      {
        label: "Time",
        value: (u, v, sidx, idx) => binText(state.detail, idx),
      },
      {
        label: "Latency",
        scale: "ms",
        stroke: LATENCY_COLOUR,
        width: 2,
        spanGaps: false,
        value: (u, v) => fmtMs(v),
        points: {
          show: false,
          size: 5,
          fill: LATENCY_COLOUR,
          filter: () => (state.detail ? isolatedPoints(state.detail.latency) : null),
        },
      },
      {
        label: "Smoke 5–95%",
        scale: "ms",
        stroke: `rgba(${SMOKE_RGB}, 0.55)`,
        fill: `rgba(${SMOKE_RGB}, 0.3)`,
        width: 1,
        paths: () => null,
        points: { show: false },
        value: smokeLegendValue,
      },
      {
        label: "Loss",
        scale: "loss",
        stroke: LOSS_COLOUR,
        fill: `rgba(${LOSS_RGB}, 0.75)`,
        width: 1,
        paths: () => null,
        points: {
          show: false,
          size: 6,
          width: 1,
          stroke: LOSS_COLOUR,
          fill: `rgba(${LOSS_RGB}, 0.6)`,
          filter: (u) => {
            const d = state.detail;
            if (!d) return null;
            const idxs = [];
            d.lossrate.forEach((f, i) => f > 0 && idxs.push(i));
            return idxs.length ? idxs : null;
          },
        },
        value: lossLegendValue,
      },
    ],
    axes: [
      {
        stroke: AXIS_COLOUR,
        grid: { stroke: GRID_COLOUR, width: 1 },
        ticks: { stroke: GRID_COLOUR, width: 1 },
        space: 70,
        size: 44,
        values: timeTicks,
      },
      {
        scale: "ms",
        stroke: AXIS_COLOUR,
        size: LEFT_AXIS,
        grid: { stroke: GRID_COLOUR, width: 1 },
        ticks: { stroke: GRID_COLOUR, width: 1 },
        values: msTicks,
      },
      {
        scale: "loss",
        side: 1,
        size: RIGHT_AXIS,
        stroke: `rgba(${LOSS_RGB}, 0.8)`,
        grid: { show: false },
        ticks: { stroke: GRID_COLOUR, width: 1 },
        splits: () => [0, 25, 50, 75, 100],
        values: (u, splits) => splits.map((v) => `${v}%`),
      },
    ],
    hooks: {
      setSelect: [
        (u) => {
          const { left, width } = u.select;
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          if (width < 5) return;
          navigate([u.posToVal(left, "x"), u.posToVal(left + width, "x")]);
        },
      ],
      draw: [
        () => {
          if (!state.readyPending) return;
          state.readyPending = false;
          el.detail.dataset.points = String(state.detail ? state.detail.points : 0);
          el.detail.dataset.start = String(state.range[0]);
          el.detail.dataset.end = String(state.range[1]);
          document.body.dataset.graphReady = "true";
        },
      ],
    },
    plugins: [
      smokePlugin({
        get: () => state.detail,
        show: (u) => u.series[S_SMOKE].show,
        rgb: SMOKE_RGB,
      }),
      lossStripPlugin({
        get: () => state.detail,
        show: (u) => u.series[S_LOSS].show,
        rgb: LOSS_RGB,
      }),
    ],
  };
  const u = new uPlot(opts, detailData(null), el.detail);
  u.setScale("x", { min: state.range[0], max: state.range[1] });
  u.over.addEventListener("wheel", (e) => onWheel(u, e), { passive: false });
  return u;
}

/** Mouse-wheel zoom around the cursor: the view rescales at once, new data comes after a pause. */
function onWheel(u, e) {
  e.preventDefault();
  const delta = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaMode === 2 ? e.deltaY * 400 : e.deltaY;
  if (delta === 0) return;
  const factor = Math.exp(Math.max(-300, Math.min(300, delta)) * 0.0015);
  const rect = u.over.getBoundingClientRect();
  const at = u.posToVal(e.clientX - rect.left, "x");
  const current = state.wheelRange || state.range;
  const next = R.zoom(current, factor, now(), at);
  state.wheelRange = next;
  u.setScale("x", { min: next[0], max: next[1] });
  clearTimeout(state.wheelTimer);
  state.wheelTimer = setTimeout(() => {
    const range = state.wheelRange;
    state.wheelRange = null;
    navigate(range);
  }, WHEEL_DEBOUNCE_MS);
}

async function loadDetail(u) {
  const [start, end] = state.range;
  state.detailRequest?.abort();
  const request = new AbortController();
  state.detailRequest = request;
  setLoading(el.detail, el.detailStatus, true);
  if (document.body.dataset.graphReady) document.body.dataset.graphReady = "false";
  try {
    const answer = await fetchJSON(withParams(pageData.data_url, { start, end }), {
      signal: request.signal,
    });
    if (request.signal.aborted) return;
    state.detail = toSeries(answer);
    state.errors.detail = null;
    delete document.body.dataset.graphError;
    el.detail.classList.remove("has-error");
    el.label.textContent = state.detail.label || "latency";
    el.detailEmpty.textContent = "No measurements in this range.";
    el.detailEmpty.hidden = state.detail.points > 0;
    state.readyPending = true;
    u.setData(detailData(state.detail), false);
    u.setScale("x", { min: start, max: end });
  } catch (err) {
    if (err.name === "AbortError") return;
    state.errors.detail = err.message;
    document.body.dataset.graphError = "true";
    if (!state.detail) {
      el.detail.classList.add("has-error");
      el.label.textContent = "";
      el.detailEmpty.textContent = "No data to show: see the message above.";
      el.detailEmpty.hidden = false;
    }
  } finally {
    if (state.detailRequest === request) {
      state.detailRequest = null;
      setLoading(el.detail, el.detailStatus, false);
      renderAlert();
    }
  }
}

// ---------------------------------------------------------------- the summary graph

function makeSummary() {
  const opts = {
    width: el.summary.clientWidth || 800,
    height: SUMMARY_HEIGHT,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
    legend: { show: false },
    cursor: {
      y: false,
      drag: { x: true, y: false, setScale: false },
      bind: { dblclick: () => null },
      points: { show: false },
    },
    scales: {
      x: { time: true },
      ms: {
        range: (u) => fitRange(...visibleExtent(u, state.summary, {})),
      },
    },
    series: [
      {},
      {
        label: "Latency",
        scale: "ms",
        stroke: LATENCY_COLOUR,
        width: 1.25,
        spanGaps: false,
        points: {
          show: false,
          size: 3,
          fill: LATENCY_COLOUR,
          filter: () => (state.summary ? isolatedPoints(state.summary.latency) : null),
        },
      },
    ],
    axes: [
      {
        stroke: AXIS_COLOUR,
        grid: { stroke: GRID_COLOUR, width: 1 },
        ticks: { stroke: GRID_COLOUR, width: 1 },
        space: 70,
        size: 40,
        values: timeTicks,
      },
      {
        scale: "ms",
        stroke: AXIS_COLOUR,
        size: LEFT_AXIS,
        space: 28,
        grid: { stroke: GRID_COLOUR, width: 1 },
        ticks: { stroke: GRID_COLOUR, width: 1 },
        values: msTicks,
      },
      {
        // Empty, so that the plot is as wide as the detail graph's.
        scale: "ms",
        side: 1,
        size: RIGHT_AXIS,
        stroke: "transparent",
        grid: { show: false },
        ticks: { show: false },
        values: (u, splits) => splits.map(() => ""),
      },
    ],
    hooks: {
      setSelect: [
        (u) => {
          const { left, width } = u.select;
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          if (width < 3) return;
          navigate([u.posToVal(left, "x"), u.posToVal(left + width, "x")]);
        },
      ],
    },
    plugins: [
      smokePlugin({ get: () => state.summary, rgb: SMOKE_RGB, strength: 0.55 }),
      rangeHighlightPlugin({ get: () => state.range }),
    ],
  };
  const u = new uPlot(opts, [[], []], el.summary);
  // A click (no drag) centres the detail range there, keeping its width.
  let downX = null;
  u.over.addEventListener("mousedown", (e) => {
    downX = e.clientX;
  });
  u.over.addEventListener("click", (e) => {
    const moved = downX === null || Math.abs(e.clientX - downX) > 3;
    downX = null;
    if (moved) return; // the end of a drag, handled by setSelect
    const rect = u.over.getBoundingClientRect();
    const at = u.posToVal(e.clientX - rect.left, "x");
    const half = (state.range[1] - state.range[0]) / 2;
    navigate(R.clampToNow([at - half, at + half], Math.max(now(), state.range[1])));
  });
  return u;
}

async function loadSummary(u) {
  const [start, end] = state.summaryRange;
  state.summaryRequest?.abort();
  const request = new AbortController();
  state.summaryRequest = request;
  setLoading(el.summary, el.summaryStatus, true);
  u.setScale("x", { min: start, max: end });
  try {
    const answer = await fetchJSON(
      withParams(pageData.data_url, { start, end, detail: "summary" }),
      { signal: request.signal },
    );
    if (request.signal.aborted) return;
    state.summary = toSeries(answer);
    state.errors.summary = null;
    u.setData([state.summary.x, state.summary.latency], false);
    u.setScale("x", { min: start, max: end });
  } catch (err) {
    if (err.name === "AbortError") return;
    state.errors.summary = err.message;
  } finally {
    if (state.summaryRequest === request) {
      state.summaryRequest = null;
      setLoading(el.summary, el.summaryStatus, false);
      renderAlert();
    }
  }
}

// ---------------------------------------------------------------- ranges and history

let detailPlot = null;
let summaryPlot = null;

function renderRange() {
  const [start, end] = state.range;
  el.rangeText.textContent = formatRange(start, end);
  el.rangeText.setAttribute("datetime", `${new Date(start * 1000).toISOString()}/${new Date(end * 1000).toISOString()}`);
  el.rangeSpan.textContent = formatSpan(end - start);
  el.csv.href = withParams(pageData.csv_url, { start, end });
  el.csv.setAttribute("download", `stream-${pageData.stream_id}-${start}-${end}.csv`);
  for (const button of el.toolbar.querySelectorAll("[data-span]")) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.span) === end - start));
  }
  const atNow = end >= now();
  const panRight = el.toolbar.querySelector('[data-action="pan-right"]');
  if (panRight) panRight.disabled = atNow;
}

/** Makes [start, end] the detail range: URL (unless restoring history), text, both graphs. */
function navigate(range, { push = true } = {}) {
  const next = R.normalise(range);
  clearTimeout(state.wheelTimer);
  state.wheelRange = null;
  if (next[0] === state.range[0] && next[1] === state.range[1] && state.detail) {
    detailPlot.setScale("x", { min: next[0], max: next[1] });
    return;
  }
  state.range = next;
  if (push) {
    history.pushState({ range: next }, "", R.rangeUrl(pageData.graph_url, next));
  }
  renderRange();
  detailPlot.setScale("x", { min: next[0], max: next[1] });
  updateSummary();
  loadDetail(detailPlot);
}

/** Keeps the summary where it is while the detail range stays inside it; else moves it. */
function updateSummary() {
  if (!state.summaryRange || !R.contains(state.summaryRange, state.range)) {
    state.summaryRange = R.summaryFor(state.range);
    loadSummary(summaryPlot);
  } else {
    summaryPlot.redraw(false, false);
  }
}

function onToolbar(e) {
  const button = e.target.closest("button");
  if (!button || !el.toolbar.contains(button)) return;
  const t = now();
  const current = state.range;
  if (button.dataset.span) {
    navigate(R.preset(current, Number(button.dataset.span)));
    return;
  }
  switch (button.dataset.action) {
    case "pan-left":
      navigate(R.pan(current, -0.5, Math.max(t, current[1])));
      break;
    case "pan-right":
      navigate(R.pan(current, 0.5, Math.max(t, current[1])));
      break;
    case "zoom-out":
      navigate(R.zoom(current, 2, t));
      break;
    case "zoom-in":
      navigate(R.zoom(current, 0.5, t));
      break;
    case "latest": {
      const span = current[1] - current[0];
      navigate([t - span, t]);
      break;
    }
    default:
      break;
  }
}

function onPopState(e) {
  let range = e.state && Array.isArray(e.state.range) ? e.state.range : null;
  if (!range) range = R.parseRangeUrl(pageData.graph_url, window.location.pathname);
  if (!range) range = R.initialRange({ ...pageData, start: null, end: null }, now());
  navigate(range, { push: false });
}

/** Resizes a graph with its container (on window resizes and layout changes). */
function fitWidth(plot, container, height) {
  let frame = 0;
  const observer = new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => {
      const width = Math.floor(container.clientWidth);
      if (width > 0 && width !== plot.width) plot.setSize({ width, height });
    });
  });
  observer.observe(container);
}

function renderSmokeKey() {
  if (!el.smokeKey) return;
  // A swatch of the smoke's shades, lightest (extremes) to darkest (median) and back.
  const alphas = smokeAlphas(20);
  const stops = alphas.map((a, k) => `rgba(${SMOKE_RGB}, ${a.toFixed(3)}) ${(k * 5).toFixed(0)}% ${((k + 1) * 5).toFixed(0)}%`);
  const smoke = el.smokeKey.querySelector(".key-smoke");
  if (smoke) smoke.style.background = `linear-gradient(to top, ${stops.join(", ")})`;
  const loss = el.smokeKey.querySelector(".key-loss");
  if (loss) {
    loss.style.background = `linear-gradient(to right, ${lossColour(0.01, LOSS_RGB)}, ${lossColour(1, LOSS_RGB)})`;
  }
}

function start() {
  history.replaceState({ range: state.range }, "");
  renderRange();
  renderSmokeKey();
  detailPlot = makeDetail();
  summaryPlot = makeSummary();
  fitWidth(detailPlot, el.detail, DETAIL_HEIGHT);
  fitWidth(summaryPlot, el.summary, SUMMARY_HEIGHT);
  el.toolbar.addEventListener("click", onToolbar);
  window.addEventListener("popstate", onPopState);
  updateSummary();
  loadDetail(detailPlot);
}

start();

// For debugging from the console.
window.nntscGraph = { state, pageData, get detail() { return detailPlot; }, get summary() { return summaryPlot; } };
