// The graph page of a view, for every view style: a detail graph over the
// range in the URL and a 30-day summary graph to pick ranges from, one line
// per line of the view in the colour the API gives it, a legend whose groups
// can be removed, and the add-series dialog. What is drawn for each line comes
// from the style's module under styles/ (generic.js for styles without one).
//
// The page's initial data comes from <script type="application/json"
// id="page-data">. When the detail graph has drawn data it sets <body
// data-graph-ready="true"> and data-points, data-start and data-end on
// #detail-graph; while a new range loads, data-graph-ready is "false".

import uPlot from "../vendor/uplot/uPlot.esm.js";
import { openDialog } from "./dialog.js";
import { fetchJSON, postJSON, withParams } from "./lib/api.js";
import { robustTop } from "./lib/axis.js";
import { h } from "./lib/dom.js";
import { bandsPlugin, marksPlugin } from "./lib/bands.js";
import { rgbOf } from "./lib/format.js";
import { EMPTY, binningText, buildModel, fitRange, uplotSeries, visibleExtent, withIndex } from "./lib/graph.js";
import { clippedPlugin, lossColour, rangeHighlightPlugin, smokeAlphas } from "./lib/plugins.js";
import * as R from "./lib/range.js";
import { formatSpan } from "./lib/time.js";
import { EVENT as TZ_EVENT, formatRange, formatTime, timeTicks, tzDate, zoneName } from "./lib/timezone.js";
import { viewEvents } from "./lib/view-events.js";
import generic, { metricsOf } from "./styles/generic.js";

const AXIS_COLOUR = "#4b5563";
const GRID_COLOUR = "rgba(0, 0, 0, 0.07)";
const LEFT_AXIS = 92; // both graphs share axis widths so their time axes line up
const RIGHT_AXIS = 84;
const DETAIL_HEIGHT = 380;
const SUMMARY_HEIGHT = 120;
const WHEEL_DEBOUNCE_MS = 400;

const $ = (id) => document.getElementById(id);
const pageData = JSON.parse($("page-data").textContent);
// The style's own module (styles/<style>.js) when the server found one, else the generic drawing.
const style = pageData.style_module ? (await import(pageData.style_module)).default : generic;
const lines = pageData.view.lines;
const loadedAt = Date.now();
/** The server's clock (page_data.now) moved on by the time the page has been open. */
const now = () => Math.floor(pageData.now + (Date.now() - loadedAt) / 1000);

const el = {
  detail: $("detail-graph"),
  summary: $("summary-graph"),
  alert: $("graph-alert"),
  label: $("detail-label"),
  summaryLabel: $("summary-label"),
  summaryTitle: $("summary-title"),
  clippedNote: $("clipped-note"),
  detailStatus: $("detail-status"),
  summaryStatus: $("summary-status"),
  detailEmpty: $("detail-empty"),
  rangeText: $("range-text"),
  rangeZone: $("range-zone"),
  rangeSpan: $("range-span"),
  csv: $("csv-link"),
  toolbar: $("graph-toolbar"),
  key: $("graph-key"),
  cursorTime: $("cursor-time"),
  metricChoice: $("metric-choice"),
  metricSelect: $("metric-select"),
};

function initialRange() {
  if (pageData.start != null && pageData.end != null && pageData.end > pageData.start) {
    return [pageData.start, pageData.end];
  }
  const end = now();
  return [end - pageData.default_span, end];
}

const state = {
  range: initialRange(),
  summaryRange: null,
  detail: lines.map(() => EMPTY), // toColumns() of each line, in `lines` order
  summary: lines.map(() => EMPTY),
  hidden: new Set(), // line ids switched off in the legend
  metric: new URLSearchParams(window.location.search).get("metric"),
  errors: { detail: null, summary: null },
  detailRequest: null,
  summaryRequest: null,
  readyPending: false,
  loadedOnce: false,
  wheelTimer: null,
  wheelRange: null,
};

let detailPlot = null;
let summaryPlot = null;
let detailModel = null;
let summaryModel = null;

// ---------------------------------------------------------------- scales and series

/** The style's scales: for generic graphs, one scale in the chosen column's unit. */
function scales() {
  if (!style.generic) return style.scales;
  const withData = state.detail.find((d) => d.points > 0) || state.detail[0];
  const unit = withData && state.metric ? withData.units[state.metric] : "";
  return style.scalesFor(unit);
}

function context(summary) {
  return { summary, metric: state.metric, lineCount: lines.length };
}

const isShown = (line) => !state.hidden.has(line.line_id);

function scaleOptions(getModel) {
  const out = { x: { time: true } };
  for (const [key, scale] of Object.entries(scales())) {
    out[key] = {
      range: (u) => {
        const [lo, hi, values] = visibleExtent(u, getModel(), key);
        // A style's own fit (loss, MOS) has fixed bounds; others stop below outliers.
        return scale.fit ? scale.fit(lo, hi) : fitRange(lo, robustTop(values, hi));
      },
    };
  }
  return out;
}

function valueAxes(summary) {
  const entries = Object.entries(scales());
  const axis = (key, scale, side) => ({
    scale: key,
    side,
    size: side === 1 ? RIGHT_AXIS : LEFT_AXIS,
    space: summary ? 28 : 36,
    stroke: AXIS_COLOUR,
    grid: { show: side === 3, stroke: GRID_COLOUR, width: 1 },
    ticks: { stroke: GRID_COLOUR, width: 1 },
    // Four significant digits, so that ticks 0.25 apart stay distinct (10.25, 10.5).
    values: (u, splits) => splits.map((v) => (v == null ? null : scale.format(v, 4))),
  });
  const axes = [axis(entries[0][0], entries[0][1], 3)];
  if (entries.length > 1 && !summary) {
    axes.push(axis(entries[1][0], entries[1][1], 1));
  } else {
    // Empty, so that the plot is as wide as the other graph's.
    axes.push({
      scale: entries[0][0],
      side: 1,
      size: RIGHT_AXIS,
      stroke: "transparent",
      grid: { show: false },
      ticks: { show: false },
      values: (u, splits) => splits.map(() => ""),
    });
  }
  return axes;
}

// ---------------------------------------------------------------- the detail graph

function cursorValues(u) {
  const model = detailModel;
  let idx = u.cursor.idx;
  if (el.cursorTime) {
    if (idx != null && model.xs[idx] != null) {
      const lineData = state.detail.find((d) => d.index.has(model.xs[idx]));
      const start = lineData ? lineData.binStart[lineData.index.get(model.xs[idx])] : model.xs[idx];
      el.cursorTime.textContent = `at ${formatTime(start)}`;
    } else {
      el.cursorTime.textContent = "latest values";
      idx = null;
    }
  }
  lines.forEach((line, li) => {
    const cell = document.querySelector(`.legend-value[data-value="${CSS.escape(line.line_id)}"]`);
    if (!cell) return;
    const data = state.detail[li];
    let i = idx != null ? data.index.get(model.xs[idx]) : undefined;
    if (idx == null) {
      // Without a cursor: the newest bin that has data.
      const main = style.series(line, data, context(false))[0];
      for (let k = data.x.length - 1; k >= 0 && i === undefined; k--) if (main.values[k] != null) i = k;
    }
    cell.textContent = i === undefined ? "—" : style.readout(line, data, i, context(false));
  });
}

function makeDetail() {
  detailModel = buildModel(lines, state.detail, style, context(false), isShown);
  const opts = {
    width: el.detail.clientWidth || 800,
    height: DETAIL_HEIGHT,
    tzDate: tzDate(uPlot),
    cursor: {
      drag: { x: true, y: false, setScale: false },
      bind: { dblclick: () => null },
      points: { size: 8, width: 2 },
    },
    legend: { show: false },
    scales: scaleOptions(() => detailModel),
    series: [{}, ...uplotSeries(detailModel, false, state.hidden)],
    axes: [
      {
        stroke: AXIS_COLOUR,
        grid: { stroke: GRID_COLOUR, width: 1 },
        ticks: { stroke: GRID_COLOUR, width: 1 },
        space: 70,
        size: 44,
        values: timeTicks,
      },
      ...valueAxes(false),
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
      setCursor: [cursorValues],
      draw: [
        (u) => {
          if (!state.readyPending) return;
          state.readyPending = false;
          el.detail.dataset.points = String(state.detail.reduce((n, d) => n + d.points, 0));
          // The value axis drawn (the first scale's), for checks of what the graph shows.
          const first = u.scales[Object.keys(scales())[0]];
          el.detail.dataset.yRange = JSON.stringify([first.min, first.max]);
          el.detail.dataset.start = String(state.range[0]);
          el.detail.dataset.end = String(state.range[1]);
          document.body.dataset.graphReady = "true";
        },
      ],
    },
    plugins: [
      bandsPlugin({ get: () => detailModel.bands }),
      marksPlugin({ get: () => detailModel.marks }),
      detailEvents.plugin(),
      clippedPlugin({
        get: () => detailModel,
        onCount: (n) => {
          el.detail.dataset.clipped = String(n);
          el.clippedNote.hidden = n === 0;
        },
      }),
    ],
  };
  const u = new uPlot(opts, detailModel.data, el.detail);
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
  const next = R.zoom(state.wheelRange || state.range, factor, now(), at);
  state.wheelRange = next;
  u.setScale("x", { min: next[0], max: next[1] });
  clearTimeout(state.wheelTimer);
  state.wheelTimer = setTimeout(() => {
    const range = state.wheelRange;
    state.wheelRange = null;
    navigate(range);
  }, WHEEL_DEBOUNCE_MS);
}

/** The view's history over `range` at `detail`, one toColumns() per line of `lines`. */
async function loadLines(range, detail, signal) {
  const answer = await fetchJSON(withParams(pageData.history_url, { start: range[0], end: range[1], detail }), { signal });
  const byId = new Map((answer.lines || []).map((line) => [line.line_id, withIndex(line)]));
  return lines.map((line) => byId.get(line.line_id) || EMPTY);
}

async function loadDetail() {
  const range = state.range;
  state.detailRequest?.abort();
  const request = new AbortController();
  state.detailRequest = request;
  setLoading(el.detail, el.detailStatus, true);
  if (document.body.dataset.graphReady) document.body.dataset.graphReady = "false";
  try {
    const datas = await loadLines(range, "full", request.signal);
    if (request.signal.aborted) return;
    state.detail = datas;
    state.errors.detail = null;
    delete document.body.dataset.graphError;
    const text = binningText(datas);
    el.label.textContent = text;
    el.detail.dataset.binning = text;
    const points = datas.reduce((n, d) => n + d.points, 0);
    el.detailEmpty.textContent = lines.length ? "No measurements in this range." : "This graph has no series yet: add one below.";
    el.detailEmpty.hidden = points > 0;
    // A generic graph's series depend on the column shown, known only now:
    // its plots are rebuilt around the first data, so its y axis fits them.
    const rebuild = style.generic && !state.loadedOnce;
    if (rebuild) chooseMetric(false);
    state.loadedOnce = true;
    state.readyPending = true;
    detailModel = buildModel(lines, datas, style, context(false), isShown);
    if (rebuild) rebuildPlots();
    else detailPlot.setData(detailModel.data, false);
    detailPlot.setScale("x", { min: range[0], max: range[1] });
    cursorValues(detailPlot);
  } catch (err) {
    if (err.name === "AbortError") return;
    state.errors.detail = err.message;
    document.body.dataset.graphError = "true";
  } finally {
    if (state.detailRequest === request) {
      state.detailRequest = null;
      setLoading(el.detail, el.detailStatus, false);
      renderAlert();
    }
  }
}

// ---------------------------------------------------------------- event markers

/** Which line each stream draws, for showing only the events of lines switched on. */
const lineOfStream = new Map(lines.flatMap((line) => line.stream_ids.map((id) => [id, line])));

/** The events of the view's streams that graph `container` marks: of lines switched on, times in the page's zone. */
function graphEvents(container, getPlot) {
  return viewEvents({
    apiUrl: pageData.events_api_url,
    eventsUrl: pageData.events_url,
    viewId: pageData.view.view_id,
    container,
    formatTime,
    redraw: () => getPlot()?.redraw(false, false),
    shown: (event) => {
      const line = lineOfStream.get(event.stream_id);
      return !line || isShown(line);
    },
  });
}

// Each graph asks for the events of its own range when it moves: the detail
// graph with every range it shows, the summary with each summary range.
const detailEvents = graphEvents(el.detail, () => detailPlot);
const summaryEvents = graphEvents(el.summary, () => summaryPlot);

// ---------------------------------------------------------------- the summary graph

function makeSummary() {
  summaryModel = buildModel(lines, state.summary, style, context(true), isShown);
  const opts = {
    width: el.summary.clientWidth || 800,
    height: SUMMARY_HEIGHT,
    tzDate: tzDate(uPlot),
    legend: { show: false },
    cursor: {
      y: false,
      drag: { x: true, y: false, setScale: false },
      bind: { dblclick: () => null },
      points: { show: false },
    },
    scales: scaleOptions(() => summaryModel),
    series: [{}, ...uplotSeries(summaryModel, true, state.hidden)],
    axes: [
      {
        stroke: AXIS_COLOUR,
        grid: { stroke: GRID_COLOUR, width: 1 },
        ticks: { stroke: GRID_COLOUR, width: 1 },
        space: 70,
        size: 40,
        values: timeTicks,
      },
      ...valueAxes(true),
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
      bandsPlugin({ get: () => summaryModel.bands }),
      clippedPlugin({ get: () => summaryModel }),
      rangeHighlightPlugin({ get: () => state.range }),
      summaryEvents.plugin(),
    ],
  };
  const u = new uPlot(opts, summaryModel.data, el.summary);
  if (state.summaryRange) u.setScale("x", { min: state.summaryRange[0], max: state.summaryRange[1] });
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

async function loadSummary() {
  const range = state.summaryRange;
  state.summaryRequest?.abort();
  const request = new AbortController();
  state.summaryRequest = request;
  setLoading(el.summary, el.summaryStatus, true);
  summaryPlot.setScale("x", { min: range[0], max: range[1] });
  summaryEvents.load(range);
  try {
    const datas = await loadLines(range, "summary", request.signal);
    if (request.signal.aborted) return;
    state.summary = datas;
    state.errors.summary = null;
    el.summaryLabel.textContent = binningText(datas) ? `(${binningText(datas)})` : "";
    summaryModel = buildModel(lines, datas, style, context(true), isShown);
    summaryPlot.setData(summaryModel.data, false);
    summaryPlot.setScale("x", { min: range[0], max: range[1] });
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

// ---------------------------------------------------------------- alerts, status, key

function renderAlert() {
  const messages = [];
  if (state.errors.detail) messages.push(state.errors.detail);
  if (state.errors.summary && state.errors.summary !== state.errors.detail) {
    messages.push(`Summary graph: ${state.errors.summary}`);
  }
  el.alert.replaceChildren();
  el.alert.hidden = messages.length === 0;
  if (!messages.length) return;
  el.alert.append(h("strong", { text: "Could not load the graph data. " }));
  messages.forEach((m, i) => {
    if (i) el.alert.append(h("br"));
    el.alert.append(m);
  });
}

function setLoading(container, status, loading) {
  container.classList.toggle("is-loading", loading);
  container.dataset.loading = loading ? "true" : "false";
  if (status) status.hidden = !loading;
}

/** The explanation under the detail graph: the style's key items, with swatches. */
function renderKey() {
  const hint = el.key.querySelector(".key-hint");
  for (const item of el.key.querySelectorAll(".key-item:not(.key-hint)")) item.remove();
  const rgb = lines.length === 1 ? rgbOf(lines[0].colour) : "55, 65, 81";
  for (const entry of style.key || []) {
    const item = h("span", { class: "key-item" });
    if (entry.swatch) {
      const swatch = h("span", { class: `key-swatch key-${entry.swatch}`, "aria-hidden": "true" });
      if (entry.swatch === "smoke") {
        const stops = smokeAlphas(20).map((a, k) => `rgba(${rgb}, ${a.toFixed(3)}) ${k * 5}% ${(k + 1) * 5}%`);
        swatch.style.background = `linear-gradient(to top, ${stops.join(", ")})`;
      } else if (entry.swatch === "loss") {
        swatch.style.background = `linear-gradient(to right, ${lossColour(0.01, rgb)}, ${lossColour(1, rgb)})`;
      }
      item.append(swatch);
    }
    item.append(entry.text);
    el.key.insertBefore(item, hint);
  }
}

/** Generic graphs: the columns the lines have, in the "Show" dropdown; rebuilds the plots. */
function chooseMetric(rebuild = true) {
  const withData = state.detail.find((d) => d.points > 0) || state.detail.find((d) => Object.keys(d.columns).length);
  if (!withData) return;
  const metrics = metricsOf(withData);
  if (!metrics.length) return;
  if (!metrics.includes(state.metric)) state.metric = metrics[0];
  el.metricSelect.replaceChildren(
    ...metrics.map((name) => {
      const option = h("option", { value: name, text: name.replaceAll("_", " ") });
      option.selected = name === state.metric;
      return option;
    }),
  );
  el.metricChoice.hidden = false;
  if (rebuild) rebuildPlots();
}

function onMetric() {
  state.metric = el.metricSelect.value;
  const url = new URL(window.location.href);
  url.searchParams.set("metric", state.metric);
  history.replaceState(history.state, "", url.pathname + url.search);
  rebuildPlots();
}

// ---------------------------------------------------------------- ranges and history

function currentUrl(range) {
  const search = state.metric && style.generic ? `?metric=${encodeURIComponent(state.metric)}` : "";
  return R.rangeUrl(pageData.view_url, range) + search;
}

function renderRange() {
  const [start, end] = state.range;
  el.rangeText.textContent = formatRange(start, end);
  el.rangeText.setAttribute("datetime", `${new Date(start * 1000).toISOString()}/${new Date(end * 1000).toISOString()}`);
  el.rangeZone.textContent = zoneName();
  for (const name of document.querySelectorAll(".zone-name")) name.textContent = zoneName();
  el.rangeSpan.textContent = formatSpan(end - start);
  el.csv.href = withParams(pageData.history_url, { start, end, detail: "full", format: "csv" });
  el.csv.setAttribute("download", `view-${pageData.view.view_id}-${start}-${end}.csv`);
  for (const button of el.toolbar.querySelectorAll("[data-span]")) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.span) === end - start));
  }
  const panRight = el.toolbar.querySelector('[data-action="pan-right"]');
  if (panRight) panRight.disabled = end >= now();
}

/** Makes [start, end] the detail range: URL (unless restoring history), text, both graphs. */
function navigate(range, { push = true } = {}) {
  const next = R.normalise(range);
  clearTimeout(state.wheelTimer);
  state.wheelRange = null;
  if (next[0] === state.range[0] && next[1] === state.range[1] && state.loadedOnce) {
    detailPlot.setScale("x", { min: next[0], max: next[1] });
    return;
  }
  state.range = next;
  if (push) history.pushState({ range: next }, "", currentUrl(next));
  renderRange();
  detailPlot.setScale("x", { min: next[0], max: next[1] });
  updateSummary();
  loadDetail();
  detailEvents.load(next);
}

/** "Last 30 days" when the summary reaches the present, else "30 days to <its end>". */
function renderSummaryTitle() {
  const [start, end] = state.summaryRange;
  const span = formatSpan(end - start);
  el.summaryTitle.textContent = end >= now() - 3600 ? `Last ${span}` : `${span} to ${formatTime(end)}`;
  el.summaryTitle.title = formatRange(start, end);
}

/** Keeps the summary where it is while the detail range stays inside it; else moves it. */
function updateSummary() {
  if (!state.summaryRange || !R.contains(state.summaryRange, state.range)) {
    state.summaryRange = R.summaryFor(state.range);
    renderSummaryTitle();
    loadSummary();
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
  if (button.dataset.action === "pan-left") navigate(R.pan(current, -0.5, Math.max(t, current[1])));
  if (button.dataset.action === "pan-right") navigate(R.pan(current, 0.5, Math.max(t, current[1])));
  if (button.dataset.action === "zoom-out") navigate(R.zoom(current, 2, t));
}

function onPopState(e) {
  let range = e.state && Array.isArray(e.state.range) ? e.state.range : null;
  if (!range) range = R.parseRangeUrl(pageData.view_url, window.location.pathname);
  if (!range) range = initialRange();
  navigate(range, { push: false });
}

/** Resizes a graph with its container (on window resizes and layout changes). */
function fitWidth(getPlot, container, height) {
  let frame = 0;
  new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => {
      const plot = getPlot();
      const width = Math.floor(container.clientWidth);
      if (plot && width > 0 && width !== plot.width) plot.setSize({ width, height });
    });
  }).observe(container);
}

/** New graphs for the same data: after the time zone or the generic column changed. */
function rebuildPlots() {
  detailPlot?.destroy();
  summaryPlot?.destroy();
  state.readyPending = state.loadedOnce;
  detailPlot = makeDetail();
  summaryPlot = makeSummary();
  cursorValues(detailPlot);
}

// ---------------------------------------------------------------- legend, views and the dialog

function goToView(viewId, viewStyle = pageData.style) {
  const [start, end] = state.range;
  window.location.assign(`/view/${encodeURIComponent(viewStyle)}/${encodeURIComponent(viewId)}/${start}/${end}`);
}

async function changeView(body, viewStyle, button) {
  if (button) button.disabled = true;
  try {
    const answer = await postJSON(pageData.views_url, body);
    goToView(answer.view_id, viewStyle);
  } catch (err) {
    state.errors.detail = err.message;
    renderAlert();
    if (button) button.disabled = false;
  }
}

function onLegendClick(e) {
  const remove = e.target.closest("[data-remove]");
  if (remove) {
    changeView({ view_id: pageData.view.view_id, remove: remove.dataset.remove }, pageData.style, remove);
    return;
  }
  const toggle = e.target.closest(".legend-toggle");
  if (!toggle) return;
  const lineId = toggle.closest("[data-line]").dataset.line;
  const show = state.hidden.has(lineId);
  if (show) state.hidden.delete(lineId);
  else state.hidden.add(lineId);
  toggle.setAttribute("aria-pressed", String(show));
  for (const [plot, model] of [
    [detailPlot, detailModel],
    [summaryPlot, summaryModel],
  ]) {
    model.series.forEach((s, k) => {
      if (s.line.line_id === lineId) plot.setSeries(k + 1, { show }, false);
    });
    plot.redraw(true, true);
  }
}

function start() {
  history.replaceState({ range: state.range }, "", currentUrl(state.range));
  renderRange();
  renderKey();
  detailPlot = makeDetail();
  summaryPlot = makeSummary();
  fitWidth(() => detailPlot, el.detail, DETAIL_HEIGHT);
  fitWidth(() => summaryPlot, el.summary, SUMMARY_HEIGHT);
  el.toolbar.addEventListener("click", onToolbar);
  el.metricSelect.addEventListener("change", onMetric);
  document.querySelector(".legend-card").addEventListener("click", onLegendClick);
  $("add-series-button").addEventListener("click", () =>
    openDialog({ style: pageData.style, viewId: pageData.view.view_id, styles: pageData.styles, range: state.range }),
  );
  for (const button of document.querySelectorAll(".style-tabs [data-style]")) {
    button.addEventListener("click", () => {
      if (button.dataset.style === pageData.style) return;
      changeView({ style: button.dataset.style, groups: pageData.view.groups }, button.dataset.style, button);
    });
  }
  window.addEventListener("popstate", onPopState);
  window.addEventListener(TZ_EVENT, () => {
    renderRange();
    renderSummaryTitle();
    rebuildPlots();
  });
  updateSummary();
  loadDetail();
  detailEvents.load(state.range);
  // An empty view opens with the dialog, since adding a series is all it is for.
  if (!lines.length && !pageData.view.groups.length) {
    openDialog({ style: pageData.style, viewId: pageData.view.view_id, styles: pageData.styles, range: state.range });
  }
}

start();

// For debugging from the console.
window.nntscView = { state, pageData, get detail() { return detailPlot; }, get summary() { return summaryPlot; } };
