// The time zone pages show times in: UTC (the default) or the browser's own,
// chosen with the switch in the page header and kept in localStorage. Pages
// import zone() and the formatters, and listen for "nntsc:timezone" on window
// to redraw when the switch changes.

const KEY = "nntsc.timezone";
export const EVENT = "nntsc:timezone";
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n) => String(n).padStart(2, "0");

/** "utc" or "local". */
export function zone() {
  try {
    return localStorage.getItem(KEY) === "local" ? "local" : "utc";
  } catch {
    return "utc";
  }
}

export function setZone(value) {
  const next = value === "local" ? "local" : "utc";
  try {
    localStorage.setItem(KEY, next);
  } catch {
    // Storage refused (private mode): the choice lasts for this page only.
  }
  window.dispatchEvent(new CustomEvent(EVENT, { detail: { zone: next } }));
}

/** The zone's name as shown next to times: "UTC" or e.g. "Pacific/Auckland (UTC+13)". */
export function zoneName() {
  if (zone() === "utc") return "UTC";
  const name = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
  const offset = -new Date().getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "−";
  const h = Math.floor(Math.abs(offset) / 60);
  const m = Math.abs(offset) % 60;
  return `${name} (UTC${sign}${h}${m ? ":" + pad(m) : ""})`;
}

/** Calendar fields of Unix time `ts` in the chosen zone. */
export function parts(ts) {
  const d = new Date(ts * 1000);
  if (zone() === "utc") {
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth(),
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
    };
  }
  return {
    year: d.getFullYear(),
    month: d.getMonth(),
    day: d.getDate(),
    hour: d.getHours(),
    minute: d.getMinutes(),
    second: d.getSeconds(),
  };
}

/** "2026-11-25 10:05" in the chosen zone, with seconds when they are not zero. */
export function formatTime(ts) {
  const p = parts(ts);
  let text = `${p.year}-${pad(p.month + 1)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)}`;
  if (p.second) text += `:${pad(p.second)}`;
  return text;
}

/** "2026-11-25 10:00 → 2026-11-26 10:00" (the zone is shown apart). */
export function formatRange(start, end) {
  return `${formatTime(start)} → ${formatTime(end)}`;
}

/** A uPlot tzDate for the chosen zone. */
export function tzDate(uPlot) {
  return zone() === "utc"
    ? (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC")
    : (ts) => new Date(ts * 1e3);
}

/** uPlot tick labels: times, with the date under the first tick of each day. */
export function timeTicks(u, splits, axisIdx, space, incr) {
  let lastDay = null;
  return splits.map((ts) => {
    if (ts == null) return null;
    const p = parts(ts);
    const day = `${p.day} ${MONTHS[p.month]}`;
    if (incr >= 28 * 86400) return `${MONTHS[p.month]} ${p.year}`;
    if (incr >= 86400) return day;
    const hm = `${pad(p.hour)}:${pad(p.minute)}`;
    const text = day !== lastDay ? `${hm}\n${day}` : hm;
    lastDay = day;
    return text;
  });
}
