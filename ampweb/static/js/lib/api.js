// Fetching from the JSON API (GET, and POST with the page's CSRF token) and
// turning the row-oriented history answers into the column arrays the graphs
// draw.

import { csrfHeaders } from "./csrf.js";

/** A failed API request; `message` is the API's own `{"error": ...}` text when it sent one. */
export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/** `base` (which may already carry a query string) with `params` set, as a same-origin path. */
export function withParams(base, params) {
  const url = new URL(base, window.location.href);
  for (const [name, value] of Object.entries(params)) {
    if (value === null || value === undefined) url.searchParams.delete(name);
    else url.searchParams.set(name, String(value));
  }
  return url.origin === window.location.origin ? url.pathname + url.search : url.href;
}

/** GET `url` as JSON; throws ApiError carrying the API's error message on failure. */
export async function fetchJSON(url, { signal, method = "GET", body: payload } = {}) {
  let response;
  const headers = { Accept: "application/json" };
  if (method !== "GET") Object.assign(headers, csrfHeaders());
  if (payload !== undefined) headers["Content-Type"] = "application/json";
  try {
    response = await fetch(url, {
      signal,
      method,
      headers,
      body: payload === undefined ? undefined : JSON.stringify(payload),
      credentials: "same-origin",
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(`Could not reach the server (${err.message}).`, 0);
  }
  let body = null;
  const text = await response.text();
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message =
      body && typeof body.error === "string" && body.error
        ? body.error
        : `The server answered ${response.status} ${response.statusText}`.trim() + ".";
    throw new ApiError(message, response.status);
  }
  if (body === null || typeof body !== "object") {
    throw new ApiError("The server's answer was not JSON.", response.status);
  }
  if (typeof body.error === "string") throw new ApiError(body.error, response.status);
  return body;
}

/** DELETE `url` (with the CSRF token; answered 204, no body); throws ApiError with the API's message. */
export async function deleteJSON(url) {
  let response;
  try {
    response = await fetch(url, {
      method: "DELETE",
      headers: { Accept: "application/json", ...csrfHeaders() },
      credentials: "same-origin",
    });
  } catch (err) {
    throw new ApiError(`Could not reach the server (${err.message}).`, 0);
  }
  if (!response.ok) {
    const answer = await response.json().catch(() => null);
    throw new ApiError(answer?.error || `The server answered ${response.status}.`, response.status);
  }
}

/** POST `body` as JSON to `url` (with the CSRF token), answering the parsed JSON. */
export function postJSON(url, body, { signal } = {}) {
  return fetchJSON(url, { signal, method: "POST", body });
}

/**
 * Column arrays of one line of a view's history: `{binsize, aggregation,
 * units, binStart, x, columns: {name: values}, points}`. As in toSeries, x is
 * the middle of each bin and missing bins become null rows (gaps). `points`
 * counts the rows with any non-null value.
 */
export function toColumns(line) {
  const names = line.columns || [];
  const binsize = Number(line.binsize) || 0;
  const out = {
    line_id: line.line_id,
    collection: line.collection,
    binsize,
    aggregation: line.aggregation || "",
    units: line.units || {},
    binStart: [],
    x: [],
    columns: Object.fromEntries(names.filter((n) => n !== "timestamp").map((n) => [n, []])),
    points: 0,
  };
  const t = names.indexOf("timestamp");
  const push = (ts, row) => {
    out.binStart.push(ts);
    out.x.push(ts + binsize / 2);
    let any = false;
    names.forEach((name, i) => {
      if (i === t) return;
      let v = row ? row[i] : null;
      if (v === undefined) v = null;
      if (v !== null && !Array.isArray(v)) v = num(v);
      if (Array.isArray(v) && !v.some((p) => p !== null)) v = null;
      if (v !== null) any = true;
      out.columns[name].push(v);
    });
    if (any) out.points += 1;
  };
  let previous = null;
  for (const row of line.rows || []) {
    const ts = Number(row[t]);
    if (previous !== null && binsize > 0 && ts - previous > binsize * 1.5) {
      push(previous + binsize, null); // a hole in the answer: keep the line broken
    }
    push(ts, row);
    previous = ts;
  }
  return out;
}

/**
 * Column arrays from a data answer. Columns are looked up by name. The x of
 * each point is the middle of its bin (the API's timestamps are bin starts),
 * and a null row is inserted wherever bins are missing so that lines break
 * there instead of being drawn across (the API normally sends every bin).
 */
export function toSeries(answer) {
  const columns = answer.columns || [];
  const index = Object.fromEntries(columns.map((name, i) => [name, i]));
  if (index.timestamp === undefined) {
    throw new ApiError("The data has no timestamp column.", 200);
  }
  const binsize = Number(answer.binsize) || 0;
  const get = (row, name) => {
    const i = index[name];
    const v = i === undefined ? null : row[i];
    return v === undefined ? null : v;
  };

  const out = {
    binsize,
    label: answer.aggregation_label || "",
    units: answer.units || {},
    start: answer.start,
    end: answer.end,
    binStart: [],
    x: [],
    latency: [],
    min: [],
    max: [],
    loss: [],
    results: [],
    lossrate: [],
    smoke: [],
    points: 0,
  };
  const push = (ts, row) => {
    out.binStart.push(ts);
    out.x.push(ts + binsize / 2);
    const latency = row ? num(get(row, "latency")) : null;
    out.latency.push(latency);
    out.min.push(row ? num(get(row, "min")) : null);
    out.max.push(row ? num(get(row, "max")) : null);
    out.loss.push(row ? num(get(row, "loss")) : null);
    out.results.push(row ? num(get(row, "results")) : null);
    let lossrate = row ? num(get(row, "lossrate")) : null;
    if (lossrate === null && row) {
      const loss = num(get(row, "loss"));
      const results = num(get(row, "results"));
      if (loss !== null && results) lossrate = loss / results;
    }
    out.lossrate.push(lossrate);
    const smoke = row ? get(row, "smoke") : null;
    out.smoke.push(Array.isArray(smoke) && smoke.some((v) => v !== null) ? smoke : null);
    if (latency !== null) out.points += 1;
  };

  let previous = null;
  for (const row of answer.rows || []) {
    const ts = Number(row[index.timestamp]);
    if (previous !== null && binsize > 0 && ts - previous > binsize * 1.5) {
      push(previous + binsize, null); // a hole in the answer: keep the line broken
    }
    push(ts, row);
    previous = ts;
  }
  return out;
}

function num(v) {
  if (v === null || v === undefined || v === "") return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}
