// The times of a schedule item as its dialog shows them and as the API takes
// them: frequencies in a count of a unit, and the window within a day or a
// week (UTC) in days and clock times, with "until 00:00" meaning the end of
// the period.

export const DAY = 86400;
export const PERIOD_SECONDS = { day: DAY, week: 7 * DAY };
/** Units a frequency is shown in, largest first (seconds). */
export const UNITS = [86400, 3600, 60, 1];

/** "HH:MM:SS" of a number of seconds into a day. */
export function clock(seconds) {
  const parts = [Math.floor(seconds / 3600), Math.floor((seconds % 3600) / 60), seconds % 60];
  return parts.map((n) => String(n).padStart(2, "0")).join(":");
}

/** Seconds into the day of a time input's value ("HH:MM" or "HH:MM:SS"; empty is 0). */
export function secondsOf(value) {
  const [hours = 0, minutes = 0, seconds = 0] = (value || "0:0").split(":").map(Number);
  return hours * 3600 + minutes * 60 + seconds;
}

/** `{count, unit}` showing a frequency in the largest unit that divides it (0: minutes). */
export function splitFrequency(seconds) {
  const unit = seconds === 0 ? 60 : UNITS.find((size) => seconds % size === 0);
  return { count: seconds / unit, unit };
}

/**
 * `{start, end}` in seconds from the start of the period, from the dialog's
 * fields: the whole period when `continuous`; otherwise the days (weekly only)
 * and times, an end of 00:00 (on Sunday, weekly) being the end of the period.
 */
export function windowSeconds({ period, continuous, startDay = 0, startTime, endDay = 0, endTime }) {
  const length = PERIOD_SECONDS[period];
  if (continuous) return { start: 0, end: length };
  const weekly = period === "week";
  const start = (weekly ? Number(startDay) * DAY : 0) + secondsOf(startTime);
  const end = (weekly ? Number(endDay) * DAY : 0) + secondsOf(endTime);
  return { start, end: end === 0 ? length : end };
}

/** The dialog's fields for an item's window: `{continuous, startDay, startTime, endDay, endTime}`. */
export function windowFields({ period, start, end }) {
  const length = PERIOD_SECONDS[period];
  const until = end === length ? 0 : end;
  return {
    continuous: start === 0 && end === length,
    startDay: Math.floor(start / DAY),
    startTime: clock(start % DAY),
    endDay: Math.floor(until / DAY),
    endTime: clock(until % DAY),
  };
}
