// The matrix page's tooltip (matrix.js shows it): the hovered pair's cells of
// the last closed hour and its last 24 hours (a sparkline per split, and the
// 1, 6 and 24 hour statistics). The text and the sparkline's geometry are pure
// functions (tests/js/matrix-tooltip.test.mjs runs them under node); the
// sections are built from them with the page's own words passed in `t`:
// {unit, splitLabel(split), hourMinute(ts), lastResultText(ts), now()}.

import { h, svg } from "./dom.js";
import { severityLevel } from "./event-markers.js";
import { short } from "./format.js";
import { relativeTime } from "./time.js";

const SPLIT_COLOURS = ["#2563eb", "#c026d3", "#0f766e", "#b45309"];
const SPARKLINE = { width: 280, height: 64, pad: { left: 34, right: 4, top: 6, bottom: 6 } };

/** Three significant digits without trailing zeros: 12.4, 9, 0.05, 871; thousands grouped. */
export const matrixNumber = (value) => short(value, 3, { suffix: false });

/** A value with its unit, with as many decimals as its size deserves; "no data" without one. */
export function valueText(value, unit) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "no data";
  return `${matrixNumber(value)} ${unit}`;
}

/** How a value compares with its baseline: ", +12 %", ", −5 %", ", 15 times as much", or "". */
export function changeText(value, baseline) {
  if (value === null || !baseline) return "";
  const pct = ((value - baseline) / baseline) * 100;
  return pct >= 1000 ? `, ${matrixNumber(value / baseline)} times as much` : `, ${pct >= 0 ? "+" : "−"}${Math.abs(pct).toFixed(0)} %`;
}

/** "stale (last result 3 hours ago)", or "stale (no result yet)". */
export function staleText(lastResult, now) {
  return `stale (${lastResult ? `last result ${relativeTime(lastResult, now)}` : "no result yet"})`;
}

/** A colour per split, in the order of the sorted split names. */
export function splitColours(splits) {
  return Object.fromEntries(splits.map((s, i) => [s, SPLIT_COLOURS[i % SPLIT_COLOURS.length]]));
}

/** The newest last result of any split of a tooltip answer, or null. */
export function latestResult(data) {
  const lasts = Object.values(data.splits)
    .map((split) => split.last_result)
    .filter((ts) => ts);
  return lasts.length ? Math.max(...lasts) : null;
}

/**
 * The sparkline of the splits' hourly points in SPARKLINE's box: per split an
 * SVG path (missing hours lift the pen) and the dots of points with no
 * neighbour, and the values written at the top and bottom (`labels`); null
 * when no split has a value. A flat line is drawn in the middle of the box.
 */
export function sparklineShape(data, splits) {
  const { width, height, pad } = SPARKLINE;
  const all = splits.flatMap((s) => data.splits[s].sparkline);
  const values = all.map(([, v]) => v).filter((v) => v !== null && Number.isFinite(v));
  if (!values.length) return null;
  const times = all.map(([t]) => t);
  let low = Math.min(...values);
  let high = Math.max(...values);
  const extent = [low, high];
  if (high - low < 1e-9) {
    low -= Math.abs(low) * 0.1 || 1;
    high += Math.abs(high) * 0.1 || 1;
  }
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const x = (t) => pad.left + ((t - t0) / (t1 - t0 || 1)) * (width - pad.left - pad.right);
  const y = (v) => pad.top + (1 - (v - low) / (high - low)) * (height - pad.top - pad.bottom);
  const paths = {};
  const dots = {};
  for (const split of splits) {
    let d = "";
    let pen = false;
    dots[split] = [];
    const points = data.splits[split].sparkline;
    points.forEach(([t, v], i) => {
      if (v === null || !Number.isFinite(v)) {
        pen = false;
        return;
      }
      const alone = (i === 0 || points[i - 1][1] === null) && (i === points.length - 1 || points[i + 1][1] === null);
      if (alone) dots[split].push([x(t).toFixed(1), y(v).toFixed(1)]);
      d += `${pen ? "L" : "M"}${x(t).toFixed(1)} ${y(v).toFixed(1)}`;
      pen = true;
    });
    paths[split] = d;
  }
  return { low: extent[0], high: extent[1], labels: [high, low], paths, dots };
}

/** The pair's cells in the matrix as drawn: the last closed hour, per split. */
export function currentSection(matrix, pair, t) {
  const rows = matrix.cells.filter((c) => c.source === pair.source && c.destination === pair.destination);
  const list = h("ul", { class: "tip-current" });
  for (const cell of rows) {
    const item = h(
      "li",
      {},
      h("span", { class: `matrix-swatch ${cell.colour_class}${cell.stale ? " stale" : ""}`, "aria-hidden": "true" }),
      `${matrix.splits.length > 1 || cell.split ? `${t.splitLabel(cell.split)}: ` : ""}${valueText(cell.value, t.unit)}`,
    );
    if (matrix.mode === "relative") {
      const change = changeText(cell.value, cell.baseline);
      item.append(h("span", { class: "muted", text: ` (usually ${valueText(cell.baseline, t.unit)}${change})` }));
    }
    if (cell.stale) {
      item.append(h("span", { class: "tip-stale", text: ` · ${staleText(cell.last_result, t.now())}` }));
    }
    list.append(item);
  }
  return h(
    "div",
    { class: "tip-current" },
    h("p", { class: "tip-label", text: `Last closed hour (${t.hourMinute(matrix.start)}–${t.hourMinute(matrix.end)})` }),
    list,
  );
}

/**
 * The pair's recent events as the matrix lists them per cell (the last 6
 * hours), every split's together: {events (newest first, each with its
 * `split`), count (all of them), open (one is in an open group), severity
 * (the highest listed)}.
 */
export function pairEvents(matrix, pair) {
  const cells = matrix.cells.filter((c) => c.source === pair.source && c.destination === pair.destination);
  const events = cells
    .flatMap((cell) => (cell.events || []).map((event) => ({ ...event, split: cell.split })))
    .sort((a, b) => b.ts_onset - a.ts_onset || b.id - a.id);
  return {
    events,
    count: cells.reduce((n, cell) => n + (cell.event_count || 0), 0),
    open: cells.some((cell) => cell.event_open),
    severity: events.reduce((top, event) => Math.max(top, event.severity), 0),
  };
}

/** "3 events in the last 6 hours, one open" (the badge's words), or "" without any. */
export function eventsSummary(found) {
  if (!found.count) return "";
  const counted = found.count === 1 ? "1 event" : `${found.count} events`;
  return `${counted} in the last 6 hours${found.open ? ", in an open group" : ""}`;
}

/** The pair's recent events for the tooltip: time, severity, description; null without any. */
export function eventsSection(matrix, pair, t) {
  const found = pairEvents(matrix, pair);
  if (!found.count) return null;
  const splitNames = matrix.splits.length > 1;
  const list = h("ul", { class: "tip-events" });
  for (const event of found.events) {
    list.append(
      h(
        "li",
        { class: `tip-event severity-${severityLevel(event.severity)}`, "data-event-id": event.id },
        h("span", { class: "tip-event-time", text: t.hourMinute(event.ts_onset) }),
        " ",
        h("span", { class: "tip-event-severity", text: `severity ${event.severity}` }),
        " ",
        `${splitNames ? `${t.splitLabel(event.split)}: ` : ""}${event.description}`,
        event.open ? h("span", { class: "tip-event-open", text: " · open" }) : null,
      ),
    );
  }
  const more = found.count - found.events.length;
  return h(
    "div",
    { class: "tip-events-section" },
    h("p", { class: "tip-label", text: `Events: ${eventsSummary(found)}` }),
    list,
    more > 0 ? h("p", { class: "tip-foot muted", text: `and ${more} more` }) : null,
  );
}

/** The pair's last 24 hours from the tooltip API: sparkline, statistics, last result. */
export function historySection(data, t) {
  const splits = Object.keys(data.splits).sort();
  const colours = splitColours(splits);
  const table = h(
    "table",
    { class: "tip-stats" },
    h(
      "thead",
      {},
      h("tr", {}, h("th", { scope: "col", text: t.unit }), ...["1 h", "6 h", "24 h"].map((span) => h("th", { scope: "col", text: span }))),
    ),
  );
  const body = h("tbody");
  for (const split of splits) {
    const { stats } = data.splits[split];
    body.append(
      h(
        "tr",
        {},
        h("th", { scope: "row" }, h("span", { class: "line-key", style: `background:${colours[split]}`, "aria-hidden": "true" }), t.splitLabel(split)),
        ...["1h", "6h", "24h"].map((span) =>
          h("td", { text: stats[span] === null ? "–" : matrixNumber(stats[span]) }),
        ),
      ),
    );
  }
  table.append(body);
  const last = latestResult(data);
  return h(
    "div",
    {},
    h("p", { class: "tip-label", text: "Last 24 hours, hourly" }),
    sparkline(data, splits, colours, t.unit),
    table,
    h("p", { class: "tip-foot muted", text: `Last result: ${last ? t.lastResultText(last) : "none"}. Click to open the graph.` }),
  );
}

/** The hourly points of every split as lines in one small SVG; missing hours break the lines. */
function sparkline(data, splits, colours, unit) {
  const { width, height, pad } = SPARKLINE;
  const shape = sparklineShape(data, splits);
  const root = svg("svg", {
    class: "sparkline",
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    "aria-label": shape ? `Sparkline of the last 24 hours, ${matrixNumber(shape.low)} to ${matrixNumber(shape.high)} ${unit}` : "No data in the last 24 hours",
  });
  root.append(svg("rect", { x: pad.left, y: pad.top, width: width - pad.left - pad.right, height: height - pad.top - pad.bottom, class: "spark-frame" }));
  if (!shape) {
    const text = svg("text", { x: width / 2, y: height / 2 + 4, "text-anchor": "middle", class: "spark-text" });
    text.textContent = "no data";
    root.append(text);
    return root;
  }
  for (const split of splits) {
    for (const [cx, cy] of shape.dots[split]) root.append(svg("circle", { cx, cy, r: 1.8, fill: colours[split] }));
    root.append(svg("path", { d: shape.paths[split], stroke: colours[split], fill: "none", "stroke-width": 1.6, "stroke-linejoin": "round" }));
  }
  for (const [value, yPos] of [[shape.labels[0], pad.top + 8], [shape.labels[1], height - pad.bottom]]) {
    const text = svg("text", { x: pad.left - 4, y: yPos, "text-anchor": "end", class: "spark-text" });
    text.textContent = matrixNumber(value);
    root.append(text);
  }
  return root;
}
