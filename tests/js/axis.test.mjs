// Where a graph's value axis stops (lib/axis.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { robustTop } from "../../ampweb/static/js/lib/axis.js";

test("one outlier is left above the axis", () => {
  const values = [...Array(100).keys()].map((i) => 200 + (i % 7) * 10).concat([100_000]);
  assert.equal(robustTop(values, 100_000), 260);
});

test("an ordinary spread keeps its highest value", () => {
  const values = [...Array(100).keys()].map((i) => i + 1);
  assert.equal(robustTop(values, 100), 100);
});

test("few values are never clipped", () => {
  assert.equal(robustTop([...Array(10).fill(1), 1000], 1000), 1000);
});

test("a band top within three times the bulk stays", () => {
  // Jitter near 0.2 ms with bands up to 1.5 ms: a third of the values are band tops.
  assert.equal(robustTop([...Array(200).fill(0.2), ...Array(100).fill(1.5)], 1.5), 1.5);
});
