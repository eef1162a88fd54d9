// The matrix tooltip's text and sparkline geometry (lib/matrix-tooltip.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  changeText,
  latestResult,
  matrixNumber,
  sparklineShape,
  splitColours,
  staleText,
  valueText,
} from "../../ampweb/static/js/lib/matrix-tooltip.js";

test("values keep three significant digits and group thousands", () => {
  assert.equal(matrixNumber(12.44), "12.4");
  assert.equal(matrixNumber(250_000), "250,000");
  assert.equal(valueText(0.05, "ms"), "0.05 ms");
  assert.equal(valueText(null, "ms"), "no data");
  assert.equal(valueText(Number.NaN, "ms"), "no data");
});

test("the change against the baseline is a signed percentage, or a factor from +1000%", () => {
  assert.equal(changeText(12, 10), ", +20 %");
  assert.equal(changeText(9.5, 10), ", −5 %");
  assert.equal(changeText(150, 10), ", 15 times as much");
  assert.equal(changeText(null, 10), "");
  assert.equal(changeText(5, 0), "");
});

test("a stale cell says when its last result was", () => {
  assert.equal(staleText(null, 10_000), "stale (no result yet)");
  assert.match(staleText(10_000 - 3 * 3600, 10_000), /^stale \(last result 3 hours ago\)$/);
});

test("splits get colours in order, wrapping after four", () => {
  const colours = splitColours(["a", "b", "c", "d", "e"]);
  assert.equal(colours.a, colours.e);
  assert.notEqual(colours.a, colours.b);
});

test("the latest result is the newest of any split", () => {
  const data = { splits: { ipv4: { last_result: 100 }, ipv6: { last_result: 300 }, x: { last_result: null } } };
  assert.equal(latestResult(data), 300);
  assert.equal(latestResult({ splits: { ipv4: { last_result: null } } }), null);
});

test("the sparkline lifts the pen at missing hours and dots lone points", () => {
  const data = {
    splits: {
      ipv4: { sparkline: [[0, 10], [3600, 20], [7200, null], [10800, 15], [14400, null]] },
      ipv6: { sparkline: [[0, null], [3600, null], [7200, null], [10800, null], [14400, null]] },
    },
  };
  const shape = sparklineShape(data, ["ipv4", "ipv6"]);
  assert.deepEqual([shape.low, shape.high], [10, 20]);
  // x from 34 to 276 over four hours, y from 58 (10) up to 6 (20).
  assert.equal(shape.paths.ipv4, "M34.0 58.0L94.5 6.0M215.5 32.0");
  assert.deepEqual(shape.dots.ipv4, [["215.5", "32.0"]]);
  assert.equal(shape.paths.ipv6, "");
  assert.deepEqual(shape.labels, [20, 10]);
});

test("a flat sparkline is drawn mid-box, and one without values is none", () => {
  const flat = sparklineShape({ splits: { all: { sparkline: [[0, 5], [3600, 5]] } } }, ["all"]);
  assert.deepEqual(flat.labels, [5.5, 4.5]);
  assert.equal(flat.paths.all, "M34.0 32.0L276.0 32.0");
  assert.equal(sparklineShape({ splits: { all: { sparkline: [[0, null]] } } }, ["all"]), null);
});

test("a pair's events: every split's, newest first, counted and open when one cell is", async () => {
  const { pairEvents, eventsSummary } = await import("../../ampweb/static/js/lib/matrix-tooltip.js");
  const ev = (id, ts, severity, open = false) => ({ id, ts_onset: ts, severity, kind: "incr", description: `e${id}`, open });
  const matrix = {
    splits: ["ipv4", "ipv6"],
    cells: [
      { source: "a", destination: "b", split: "ipv4", events: [ev(3, 300, 20, true), ev(1, 100, 70)], event_count: 4, event_open: true },
      { source: "a", destination: "b", split: "ipv6", events: [ev(2, 200, 40)], event_count: 1, event_open: false },
      { source: "b", destination: "a", split: "ipv4", events: [], event_count: 0, event_open: false },
    ],
  };
  const found = pairEvents(matrix, { source: "a", destination: "b" });
  assert.deepEqual(found.events.map((e) => [e.id, e.split]), [[3, "ipv4"], [2, "ipv6"], [1, "ipv4"]]);
  assert.deepEqual([found.count, found.open, found.severity], [5, true, 70]);
  assert.equal(eventsSummary(found), "5 events in the last 6 hours, in an open group");
  const none = pairEvents(matrix, { source: "b", destination: "a" });
  assert.deepEqual([none.count, none.open, eventsSummary(none)], [0, false, ""]);
  assert.equal(eventsSummary({ count: 1, open: false }), "1 event in the last 6 hours");
});
