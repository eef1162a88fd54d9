// UDP stream jitter: each line's mean jitter over bands of its percentiles,
// with loss marked along the bottom.

import { ms, percent, short } from "../lib/format.js";

export default {
  scales: { ms: { unit: "ms", format: ms } },
  series(line, data, { summary }) {
    return [{ label: "jitter", scale: "ms", values: data.columns.jitter || [], width: summary ? 1.25 : 2 }];
  },
  bands(line, data, { summary, lineCount }) {
    const smoke = data.columns.jitter_smoke;
    if (!smoke) return [];
    const strength = (summary ? 0.5 : 1) / Math.sqrt(Math.max(1, lineCount));
    return [{ scale: "ms", smoke, min: data.columns.min_jitter, strength }];
  },
  marks(line, data) {
    // The stored loss is the fraction of the stream's packets lost.
    return { fractions: data.columns.loss || [] };
  },
  readout(line, data, i) {
    const { jitter, rtt, loss, mos } = data.columns;
    if (jitter?.[i] == null) return "—";
    let text = `${ms(jitter[i])} jitter`;
    if (rtt?.[i] != null) text += `, ${ms(rtt[i])} RTT`;
    if (loss?.[i] != null) text += `, ${percent(loss[i] * 100)} loss`;
    if (mos?.[i] != null) text += `, MOS ${short(mos[i], 2)}`;
    return text;
  },
  key: [
    { swatch: "smoke", text: "bands: percentiles of the bin's jitter, darkest at the median" },
    { swatch: "loss", text: "loss: marks along the bottom" },
  ],
};
