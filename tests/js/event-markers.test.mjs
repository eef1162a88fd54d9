// The graph page's event markers (lib/event-markers.js): levels, clustering and words.
import assert from "node:assert/strict";
import { test } from "node:test";

import { NOTE_EVENTS, clusterMarkers, eventText, markerLines, severityLevel } from "../../ampweb/static/js/lib/event-markers.js";

const event = (id, ts, severity, extra = {}) => ({
  id,
  ts_onset: ts,
  severity,
  description: `median ${id} ms -> ${id * 2} ms`,
  source: "amp-a",
  target: "amp-b",
  ...extra,
});

test("severity levels begin at 30 and 60", () => {
  assert.deepEqual([0, 29, 30, 59, 60, 100].map(severityLevel), ["low", "low", "medium", "medium", "high", "high"]);
});

test("events a few pixels apart share a marker, most severe first; others stay apart", () => {
  const toPos = (ts) => ts / 10; // 10 seconds a pixel
  const events = [event(1, 1000, 20), event(2, 1050, 70), event(3, 2000, 40), event(4, 9000, 90)];
  const markers = clusterMarkers(events, toPos, 0, 5000);
  assert.equal(markers.length, 2, "the event outside the range is left out");
  assert.deepEqual(markers[0].events.map((e) => e.id), [2, 1]);
  assert.equal(markers[0].level, "high");
  assert.equal(markers[0].ts, 1050);
  assert.equal(markers[0].x, 102.5);
  assert.deepEqual(markers[1].events.map((e) => e.id), [3]);
  assert.equal(markers[1].level, "medium");
  assert.deepEqual(clusterMarkers([], toPos, 0, 10), []);
});

test("a marker's note has a heading, a line per event and how many more there are", () => {
  const formatTime = (ts) => `t${ts}`;
  const one = clusterMarkers([event(5, 100, 45)], (ts) => ts, 0, 1000)[0];
  assert.deepEqual(markerLines(one, formatTime), ["Event at t100", "median 5 ms -> 10 ms · severity 45 · amp-a → amp-b"]);
  const many = Array.from({ length: NOTE_EVENTS + 2 }, (_, i) => event(i + 1, 100 + i, 10));
  const lines = markerLines(clusterMarkers(many, () => 0, 0, 1000)[0], formatTime);
  assert.equal(lines[0], `${NOTE_EVENTS + 2} events around t100`);
  assert.equal(lines.length, NOTE_EVENTS + 2);
  assert.equal(lines.at(-1), "and 2 more");
  assert.equal(eventText(event(7, 0, 3, { source: "", target: "" })), "median 7 ms -> 14 ms · severity 3");
});
