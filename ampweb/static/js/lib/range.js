// Time-range arithmetic for the graph pages: the default range, panning,
// zooming, presets, and the /view/{style}/{id}/{start}/{end} URLs.

import { DAY } from "./time.js";

/** The narrowest range a graph zooms to (the finest bins are 1 minute). */
export const MIN_SPAN = 10 * 60;
/** The widest range a graph zooms out to. */
export const MAX_SPAN = 5 * 365 * DAY;
/** How much the summary graph covers at least. */
export const SUMMARY_SPAN = 30 * DAY;

/**
 * The detail range a page opens on: the range in its URL, else the 24 hours
 * ending now — or ending just after the stream's last result when that is
 * older than a day, so a stream that stopped reporting still shows its data.
 */
export function initialRange(pageData, now) {
  if (pageData.start != null && pageData.end != null && pageData.end > pageData.start) {
    return [pageData.start, pageData.end];
  }
  let end = now;
  if (pageData.last != null && pageData.last < now - DAY) {
    end = Math.ceil((pageData.last + 1) / 300) * 300;
  }
  return [end - DAY, end];
}

/** Whole seconds, at least MIN_SPAN and at most MAX_SPAN wide, not before the epoch. */
export function normalise([start, end]) {
  let s = Math.round(Math.min(start, end));
  let e = Math.round(Math.max(start, end));
  if (e - s < MIN_SPAN) {
    const mid = (s + e) / 2;
    s = Math.round(mid - MIN_SPAN / 2);
    e = s + MIN_SPAN;
  }
  if (e - s > MAX_SPAN) {
    s = e - MAX_SPAN;
  }
  if (s < 0) {
    e -= s;
    s = 0;
  }
  return [s, e];
}

/** Moves a range that runs past `now` back so that it ends at now (its width kept). */
export function clampToNow([start, end], now) {
  if (end <= now) return [start, end];
  const shift = end - now;
  return [Math.max(0, start - shift), now];
}

/** Shifts the range by `fraction` of its width (negative: earlier). */
export function pan([start, end], fraction, now) {
  const shift = Math.round((end - start) * fraction);
  if (shift > 0 && end >= now) return [start, end];
  return clampToNow([start + shift, end + shift], now);
}

/** Scales the range's width by `factor` around `at` (the middle by default). */
export function zoom([start, end], factor, now, at = (start + end) / 2) {
  const s = at - (at - start) * factor;
  const e = at + (end - at) * factor;
  return normalise(clampToNow([s, e], Math.max(now, end)));
}

/** A range `span` seconds wide ending where `range` ends. */
export function preset([, end], span) {
  return [end - span, end];
}

/** The summary graph's range for a detail range: 30 days (or the detail's width) ending at its end. */
export function summaryFor([start, end]) {
  const span = Math.max(SUMMARY_SPAN, end - start);
  return [end - span, end];
}

export function contains(outer, inner) {
  return inner[0] >= outer[0] && inner[1] <= outer[1];
}

/** `{graph_url}/{start}/{end}` */
export function rangeUrl(graphUrl, [start, end]) {
  return `${graphUrl.replace(/\/+$/, "")}/${start}/${end}`;
}

/** The [start, end] in a <graph URL>/{start}/{end} path, or null. */
export function parseRangeUrl(graphUrl, pathname) {
  const base = graphUrl.replace(/\/+$/, "");
  if (!pathname.startsWith(base + "/")) return null;
  const m = /^(\d+)\/(\d+)\/?$/.exec(pathname.slice(base.length + 1));
  if (!m) return null;
  const start = Number(m[1]);
  const end = Number(m[2]);
  return end > start ? [start, end] : null;
}
