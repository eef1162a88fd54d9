// SIP calls: each line's mean opinion score (ITU-T G.107, 1 to 4.5) for the
// audio of one direction, over a light band from the bin's lowest to its
// highest score, on a fixed axis; the share of RTP packets lost is marked
// along the bottom. Round trips and loss have the latency and loss styles.

import { ms, percent, short } from "../lib/format.js";
import { satisfaction } from "./mos.js";

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
  marks(line, data) {
    return { fractions: data.columns.lossrate || [] };
  },
  readout(line, data, i) {
    const mos = data.columns.mos?.[i];
    if (mos == null) return "—";
    let text = `MOS ${short(mos, 3)} (${satisfaction(mos)})`;
    const rtt = data.columns.latency?.[i];
    if (rtt != null) text += `, rtt ${ms(rtt)}`;
    const loss = data.columns.lossrate?.[i];
    if (loss != null) text += `, ${percent(loss * 100)} lost`;
    return text;
  },
  key: [
    { swatch: null, text: "MOS from 1 (bad) to 4.5 (the best a G.711 call scores), per direction of the call" },
    { swatch: "smoke", text: "band: lowest to highest score of the bin" },
    { swatch: "loss", text: "loss: RTP packets lost, marks along the bottom" },
  ],
};
