// Time formatting helpers. Every time shown on the pages is UTC; timestamps
// are Unix seconds throughout.

export const MINUTE = 60;
export const HOUR = 3600;
export const DAY = 86400;
export const WEEK = 7 * DAY;

const pad = (n) => String(n).padStart(2, "0");

/** "2026-11-25 10:05" (UTC); with seconds when they are not zero or asked for. */
export function formatUTC(ts, { seconds = false } = {}) {
  const d = new Date(ts * 1000);
  let text =
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  if (seconds || d.getUTCSeconds() !== 0) text += `:${pad(d.getUTCSeconds())}`;
  return text;
}

/** "2026-11-25 10:00 → 2026-11-26 10:00 UTC" */
export function formatRange(start, end) {
  return `${formatUTC(start)} → ${formatUTC(end)} UTC`;
}

/** "5 minutes", "1 day", "4 hours 10 minutes", "2 weeks": a span of seconds in at most two units. */
export function formatSpan(seconds) {
  const units = [
    ["week", WEEK],
    ["day", DAY],
    ["hour", HOUR],
    ["minute", MINUTE],
  ];
  const word = (n, name) => `${n} ${name}${n === 1 ? "" : "s"}`;
  let rest = Math.round(seconds);
  if (rest < MINUTE) return word(rest, "second");
  for (let i = 0; i < units.length; i++) {
    const [name, size] = units[i];
    // Weeks only when whole: "10 days", not "1 week 3 days".
    if (name === "week" && rest % WEEK !== 0) continue;
    if (rest >= size) {
      const n = Math.floor(rest / size);
      rest -= n * size;
      const next = units[i + 1];
      if (!next || rest < next[1]) return word(n, name);
      return `${word(n, name)} ${word(Math.floor(rest / next[1]), next[0])}`;
    }
  }
  return word(Math.round(seconds / MINUTE), "minute");
}

/** "just now", "5 minutes ago", "3 days ago", "in 2 hours". */
export function relativeTime(ts, now) {
  const diff = now - ts;
  const future = diff < 0;
  const abs = Math.abs(diff);
  if (abs < 45) return "just now";
  const steps = [
    ["year", 365 * DAY],
    ["month", 30 * DAY],
    ["week", WEEK],
    ["day", DAY],
    ["hour", HOUR],
    ["minute", MINUTE],
  ];
  for (const [name, size] of steps) {
    if (abs >= size) {
      const n = Math.round(abs / size);
      const text = `${n} ${name}${n === 1 ? "" : "s"}`;
      return future ? `in ${text}` : `${text} ago`;
    }
  }
  const n = Math.round(abs / MINUTE) || 1;
  return future ? `in ${n} minute${n === 1 ? "" : "s"}` : `${n} minute${n === 1 ? "" : "s"} ago`;
}
