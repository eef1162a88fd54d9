// Where a live update puts a group, and what a poll asks (static/js/events-live.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { before, inPage, parseBound, pollQuery } from "../../ampweb/static/js/events-live.js";

test("groups are ordered by start, then id, newest first", () => {
  assert.ok(before([200, 1], [100, 9]));
  assert.ok(before([100, 9], [100, 8]));
  assert.ok(!before([100, 8], [100, 8]));
  assert.ok(!before([100, 8], [100, 9]));
});

test("a page takes the groups between its cursor and its last group", () => {
  const upper = parseBound("1000.5");
  const lower = parseBound("500.7");
  assert.deepEqual(upper, [1000, 5]);
  assert.ok(inPage([700, 1], upper, lower));
  assert.ok(!inPage([1000, 5], upper, lower), "the cursor's group is on the page before");
  assert.ok(!inPage([2000, 1], upper, lower));
  assert.ok(!inPage([500, 7], upper, lower), "the last group is not inserted again");
  assert.ok(!inPage([400, 1], upper, lower));
  // The first page has no upper bound; the last page no lower one.
  assert.ok(inPage([9999, 1], null, lower));
  assert.ok(inPage([1, 1], upper, null));
  assert.equal(parseBound(""), null);
  assert.equal(parseBound("x.y"), null);
});

test("a poll sends the page's filters, not its cursor, and the change it has seen", () => {
  const query = new URLSearchParams(pollQuery("?range=24h&min_severity=60&cursor=abc&asn=1&asn=2", 42));
  assert.equal(query.get("cursor"), null);
  assert.equal(query.get("since"), "42");
  assert.equal(query.get("range"), "24h");
  assert.equal(query.get("min_severity"), "60");
  assert.deepEqual(query.getAll("asn"), ["1", "2"]);
});
