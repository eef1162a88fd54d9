// YouTube playbacks: the time each line spent not playing, in seconds, drawn
// as three stacked boundaries: setup before the video started loading
// (dotted), then until it played (setup and initial buffering, dashed), then
// everything not playing (with the stalls, solid). The gaps between the lines
// are the initial buffering and the stalling. Playing time is left out: it is
// the length asked for. The number of stalls per playback is drawn as points
// on a second axis, only where there were any.

import { short } from "../lib/format.js";

const seconds = (v, digits = 3) => (v == null ? "—" : `${short(v, digits)} s`);
const stalls = (v, digits = 3) => (v == null ? "—" : short(v, Math.min(digits, 2)));

export default {
  scales: {
    s: { unit: "s", format: seconds, fit: (lo, hi) => [0, Number.isFinite(hi) ? hi * 1.1 : 1] },
    stalls: { unit: "stalls", format: stalls, fit: (lo, hi) => [0, Math.max(2, Number.isFinite(hi) ? Math.ceil(hi * 1.2) : 2)] },
  },
  series(line, data, { summary }) {
    const width = summary ? 1.25 : 2;
    const out = [{ label: "not playing", scale: "s", values: data.columns.waiting || [], width }];
    if (summary) return out;
    return out.concat([
      { label: "until playing", scale: "s", values: data.columns.startup || [], width: 1.5, dash: [6, 4] },
      { label: "setup", scale: "s", values: data.columns.pre || [], width: 1.25, dash: [2, 3] },
      {
        label: "stalls",
        scale: "stalls",
        values: (data.columns.stalls || []).map((v) => (v ? v : null)),
        width: 0,
        points: true,
      },
    ]);
  },
  readout(line, data, i) {
    const { waiting, startup, stalled, stalls: count, total } = data.columns;
    if (waiting?.[i] == null) return "—";
    let text = `${seconds(waiting[i])} not playing: played after ${seconds(startup?.[i])}`;
    text += count?.[i] ? `, ${short(count[i], 2)} stalls (${seconds(stalled?.[i])})` : ", no stalls";
    if (total?.[i] != null) text += `; ${seconds(total[i])} in all`;
    return text;
  },
  key: [
    {
      swatch: null,
      text: "solid: time not playing · dashed: until the video played · dotted: setup before loading · points: stalls (right axis)",
    },
  ],
};
