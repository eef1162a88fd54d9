// YouTube playbacks: each line's whole test time (solid, over a smoke band of
// its percentiles), the time until the video played (setup plus initial
// buffering, dashed) and the time stalled (dotted), in seconds; the number of
// stalls per playback as points on a second axis.

import { short } from "../lib/format.js";

const seconds = (v, digits = 3) => (v == null ? "—" : `${short(v, digits)} s`);
const stalls = (v, digits = 3) => (v == null ? "—" : short(v, Math.min(digits, 2)));

export default {
  scales: {
    s: { unit: "s", format: seconds },
    stalls: { unit: "stalls", format: stalls, fit: (lo, hi) => [0, Math.max(1, Number.isFinite(hi) ? Math.ceil(hi * 1.2) : 1)] },
  },
  series(line, data, { summary }) {
    const width = summary ? 1.25 : 2;
    const out = [{ label: "total", scale: "s", values: data.columns.total || [], width }];
    if (summary) return out;
    return out.concat([
      { label: "until playing", scale: "s", values: data.columns.startup || [], width: 1.5, dash: [6, 4] },
      { label: "stalled", scale: "s", values: data.columns.stalled || [], width: 1.5, dash: [2, 3] },
      // Only bins with stalls get a point: a row of zeros would hide the time lines.
      { label: "stalls", scale: "stalls", values: (data.columns.stalls || []).map((v) => (v ? v : null)), width: 0, points: true },
    ]);
  },
  bands(line, data, { summary, lineCount }) {
    const smoke = data.columns.total_smoke;
    if (!smoke || summary) return [];
    return [{ scale: "s", smoke, min: null, strength: 0.6 / Math.sqrt(Math.max(1, lineCount)) }];
  },
  readout(line, data, i) {
    const { total, startup, stalled, stalls: count } = data.columns;
    if (total?.[i] == null) return "—";
    let text = `${seconds(total[i])} in all, playing after ${seconds(startup?.[i])}`;
    if (count?.[i]) text += `, ${short(count[i], 2)} stalls (${seconds(stalled?.[i])})`;
    else text += ", no stalls";
    return text;
  },
  key: [
    { swatch: null, text: "solid: whole test · dashed: until the video played · dotted: time stalled · points: stalls (right axis)" },
    { swatch: "smoke", text: "smoke: each bin's percentiles of the whole test time" },
  ],
};
