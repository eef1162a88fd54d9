// UDP voice quality: each line's mean opinion score (ITU-T G.107 E-model, from
// 1, bad, to 4.5, the best a G.711 call can score), over a light band from the
// bin's lowest to its highest score, on a fixed 1–4.5 axis so that lines and
// ranges compare at a glance.

import { short } from "../lib/format.js";

/** The G.107 user satisfaction of a score. */
export function satisfaction(mos) {
  if (mos >= 4.34) return "very satisfied";
  if (mos >= 4.03) return "satisfied";
  if (mos >= 3.6) return "some users dissatisfied";
  if (mos >= 3.1) return "many users dissatisfied";
  if (mos >= 2.58) return "nearly all users dissatisfied";
  return "not recommended";
}

const format = (v, digits = 3) => (v == null ? "—" : short(v, Math.min(digits, 3)));

export default {
  scales: { mos: { unit: "MOS", format, fit: () => [1, 4.5] } },
  series(line, data, { summary }) {
    return [
      { label: "MOS", scale: "mos", values: data.columns.mos || [], width: summary ? 1.25 : 2, points: data.points < 60 },
    ];
  },
  bands(line, data, { summary, lineCount }) {
    const { mos_min: low, mos_max: high } = data.columns;
    if (!low || !high || summary) return [];
    const strength = 0.35 / Math.sqrt(Math.max(1, lineCount));
    return [{ scale: "mos", smoke: high.map((v) => (v == null ? null : [v])), min: low, strength }];
  },
  readout(line, data, i) {
    const scores = data.columns.mos || [];
    // amplet2 scores the direction the monitor receives: the other has none at all.
    if (!scores.some((v) => v != null)) return "no MOS (scored on the direction received only)";
    const mos = scores[i];
    if (mos == null) return "—";
    return `MOS ${short(mos, 3)} (${satisfaction(mos)})`;
  },
  key: [
    { swatch: null, text: "MOS from 1 (bad) to 4.5 (the best a G.711 call scores); measured on the direction received" },
    { swatch: "smoke", text: "band: lowest to highest score of the bin" },
  ],
};
