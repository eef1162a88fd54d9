// The graph page's model (lib/graph.js) with a real style (latency) over API-shaped lines.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  EMPTY,
  binningText,
  buildModel,
  fitRange,
  isolatedPoints,
  joinSparse,
  niceStep,
  uplotSeries,
  visibleExtent,
  withIndex,
} from "../../ampweb/static/js/lib/graph.js";
import latency from "../../ampweb/static/js/styles/latency.js";

const BIN = 600;

/** One line of a view's history answer: latency, smoke and loss per 10-minute bin from t0. */
function apiLine(lineId, t0, latencies) {
  return {
    line_id: lineId,
    collection: "amp-icmp",
    binsize: BIN,
    aggregation: "10 minute bins",
    units: { latency: "ms" },
    columns: ["timestamp", "latency", "smoke", "lossrate"],
    rows: latencies.map((v, i) => [t0 + i * BIN, v, v === null ? null : [v - 1, v, v + 1], 0]),
  };
}

const LINES = [
  { line_id: "a", colour: "#1f77b4", title: "a", label: "to b" },
  { line_id: "b", colour: "#ff7f0e", title: "b", label: "to a" },
];
const ctx = (summary) => ({ summary, metric: null, lineCount: LINES.length });

test("niceStep is 1, 2, 2.5 or 5 times a power of ten", () => {
  assert.equal(niceStep(10), 2);
  assert.equal(niceStep(12), 2.5);
  assert.equal(niceStep(100), 20);
  assert.equal(niceStep(4), 1);
});

test("fitRange pads the values, never below zero for positive ones, and ends on ticks", () => {
  assert.deepEqual(fitRange(2, 50), [0, 60]);
  assert.deepEqual(fitRange(20, 50), [10, 60]);
  assert.deepEqual(fitRange(-5, 5), [-7.5, 7.5]);
  assert.deepEqual(fitRange(Infinity, -Infinity), [0, 10]);
});

test("withIndex maps each bin's x (its middle) to its index; a null bin breaks the line at a hole", () => {
  const data = withIndex({ ...apiLine("a", 0, [10, 11]), rows: [[0, 10, null, 0], [1800, 12, null, 0]] });
  assert.deepEqual(data.x, [300, 900, 2100]);
  assert.deepEqual(data.columns.latency, [10, null, 12]);
  assert.equal(data.index.get(2100), 2);
  assert.equal(data.points, 2);
});

test("buildModel merges the lines' x values and aligns each series on them", () => {
  const datas = [withIndex(apiLine("a", 0, [10, 20, 30])), withIndex(apiLine("b", BIN, [5, 6]))];
  const model = buildModel(LINES, datas, latency, ctx(false), () => true);
  assert.deepEqual(model.xs, [300, 900, 1500]);
  assert.equal(model.series.length, 2);
  assert.deepEqual(model.data, [
    [300, 900, 1500],
    [10, 20, 30],
    [undefined, 5, 6], // no bin of b at 300: undefined, which uPlot draws across
  ]);
  assert.equal(model.bands.length, 2);
  assert.equal(model.bands[0].rgb, "31, 119, 180");
  assert.equal(model.marks.length, 2);
});

test("the summary graph has no marks, and bands follow the legend when drawn", () => {
  const hidden = new Set();
  const datas = [withIndex(apiLine("a", 0, [10])), EMPTY];
  const model = buildModel(LINES, datas, latency, ctx(true), (line) => !hidden.has(line.line_id));
  assert.equal(model.marks.length, 0);
  assert.equal(model.bands[0].show, true);
  hidden.add("a");
  assert.equal(model.bands[0].show, false);
});

test("joinSparse draws across short gaps between sparse results but keeps outages", () => {
  const xs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
  const values = [1, null, null, 2, null, null, 3, null, null, 4, null, null, null, null, 5];
  assert.deepEqual(joinSparse(xs, values), [
    1, undefined, undefined, 2, undefined, undefined, 3, undefined, undefined, 4, null, null, null, null, 5,
  ]);
  assert.deepEqual(joinSparse([0, 1, 2], [1, null, 2]), [1, null, 2]); // too few points to judge
});

test("isolatedPoints finds the values with no neighbour", () => {
  assert.deepEqual(isolatedPoints([1, null, 2, 3, null]), [0]);
  assert.deepEqual(isolatedPoints([1, undefined, 2]), null);
  assert.deepEqual(isolatedPoints([null, 4, null]), [1]);
});

test("visibleExtent takes the shown series and band edges within the x scale", () => {
  const datas = [withIndex(apiLine("a", 0, [10, 20, 30])), withIndex(apiLine("b", 0, [100, 5, 6]))];
  const hidden = new Set();
  const model = buildModel(LINES, datas, latency, ctx(false), (line) => !hidden.has(line.line_id));
  const u = { scales: { x: { min: 700, max: 1800 } }, series: [{}, { show: true }, { show: true }] };
  const [lo, hi] = visibleExtent(u, model, "ms");
  assert.deepEqual([lo, hi], [4, 31]); // b's 100 and its band end left of the scale
  u.series[2].show = false;
  hidden.add("b");
  assert.deepEqual(visibleExtent(u, model, "ms").slice(0, 2), [19, 31]);
  assert.deepEqual(visibleExtent(u, null, "ms"), [Infinity, -Infinity, []]);
});

test("uplotSeries names each series and hides those of hidden lines", () => {
  const model = buildModel(LINES, [withIndex(apiLine("a", 0, [1])), EMPTY], latency, ctx(false), () => true);
  const [a, b] = uplotSeries(model, false, new Set(["b"]));
  assert.equal(a.label, "a to b latency");
  assert.equal(a.show, true);
  assert.equal(b.show, false);
  assert.equal(a.points.size, 5);
});

test("binningText lists each binning once", () => {
  const datas = [withIndex(apiLine("a", 0, [1])), withIndex(apiLine("b", 0, [2])), EMPTY];
  assert.equal(binningText(datas), "10 minute bins");
});
