// The schedule dialog's times (lib/schedule-times.js): frequencies and windows both ways.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  clock,
  secondsOf,
  splitFrequency,
  windowFields,
  windowSeconds,
} from "../../ampweb/static/js/lib/schedule-times.js";

test("clock and secondsOf are inverse over a day", () => {
  assert.equal(clock(0), "00:00:00");
  assert.equal(clock(6 * 3600 + 30 * 60 + 5), "06:30:05");
  assert.equal(secondsOf("06:30:05"), 6 * 3600 + 30 * 60 + 5);
  assert.equal(secondsOf("06:30"), 6 * 3600 + 30 * 60);
  assert.equal(secondsOf(""), 0);
});

test("a frequency is shown in the largest unit that divides it", () => {
  assert.deepEqual(splitFrequency(300), { count: 5, unit: 60 });
  assert.deepEqual(splitFrequency(7200), { count: 2, unit: 3600 });
  assert.deepEqual(splitFrequency(90), { count: 90, unit: 1 });
  assert.deepEqual(splitFrequency(0), { count: 0, unit: 60 });
});

test("a continuous window is the whole period", () => {
  assert.deepEqual(windowSeconds({ period: "day", continuous: true }), { start: 0, end: 86400 });
  assert.deepEqual(windowSeconds({ period: "week", continuous: true }), { start: 0, end: 604800 });
});

test("until 00:00 is the end of the period; weekly windows count days from Sunday", () => {
  const daily = { period: "day", continuous: false, startTime: "22:00", endTime: "00:00" };
  assert.deepEqual(windowSeconds(daily), { start: 79200, end: 86400 });
  const weekly = {
    period: "week",
    continuous: false,
    startDay: "1",
    startTime: "06:00:00",
    endDay: "1",
    endTime: "09:00:00",
  };
  assert.deepEqual(windowSeconds(weekly), { start: 86400 + 21600, end: 86400 + 32400 });
});

test("an item's window comes back to the same fields", () => {
  for (const item of [
    { period: "day", start: 0, end: 86400 },
    { period: "day", start: 3600, end: 86400 },
    { period: "week", start: 86400 + 21600, end: 86400 + 32400 },
  ]) {
    const fields = windowFields(item);
    assert.deepEqual(windowSeconds({ period: item.period, ...fields }), { start: item.start, end: item.end });
  }
  assert.equal(windowFields({ period: "day", start: 0, end: 86400 }).continuous, true);
});
