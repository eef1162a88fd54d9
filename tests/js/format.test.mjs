// Number formatting shared by the graph, matrix and paths pages (lib/format.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { short, share, withUnit } from "../../ampweb/static/js/lib/format.js";

test("short keeps three significant digits without trailing zeros", () => {
  assert.equal(short(12.34), "12.3");
  assert.equal(short(0.05), "0.05");
  assert.equal(short(9), "9");
  assert.equal(short(1234.5), "1,235");
});

test("short puts a suffix on values from 100,000", () => {
  assert.equal(short(250_000), "250k");
  assert.equal(short(1_500_000), "1.5M");
});

test("short without suffixes groups the thousands of large values (the matrix)", () => {
  assert.equal(short(250_000, 3, { suffix: false }), "250,000");
  assert.equal(short(871.26, 3, { suffix: false }), "871");
});

test("short of no value is a dash", () => {
  assert.equal(short(null), "—");
  assert.equal(short(Number.NaN), "—");
});

test("share is a whole percent from 10% and one decimal below", () => {
  assert.equal(share(1, 3), "33%");
  assert.equal(share(1, 20), "5.0%");
  assert.equal(share(1, 200), "0.5%");
  assert.equal(share(0, 7), "0%");
  assert.equal(share(3, 0), "—");
});

test("withUnit names the unit", () => {
  assert.equal(withUnit(12.345, "ms"), "12.3 ms");
  assert.equal(withUnit(0.25, "fraction"), "25%");
  assert.equal(withUnit(1500, "Mbit/s"), "1.5 Gbit/s");
});
