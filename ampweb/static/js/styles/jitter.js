// UDP stream jitter: each line's jitter, the spread of its delay variation
// (90th minus 10th percentile of each test's inter-packet delay variation,
// never negative), over a light band up to the full range of the variation,
// with loss marked along the bottom.

import { ms, percent, short } from "../lib/format.js";

export default {
  scales: { ms: { unit: "ms", format: ms } },
  series(line, data, { summary }) {
    return [{ label: "jitter", scale: "ms", values: data.columns.jitter || [], width: summary ? 1.25 : 2 }];
  },
  bands(line, data, { summary, lineCount }) {
    const { jitter, jitter_range: range } = data.columns;
    if (!jitter || !range || summary) return [];
    const strength = 0.35 / Math.sqrt(Math.max(1, lineCount));
    return [{ scale: "ms", smoke: range.map((v) => (v == null ? null : [v])), min: jitter, strength }];
  },
  marks(line, data) {
    // The stored loss is the fraction of the stream's packets lost.
    return { fractions: data.columns.loss || [] };
  },
  readout(line, data, i) {
    const { jitter, jitter_range: range, rtt, loss, mos } = data.columns;
    if (jitter?.[i] == null) return "—";
    let text = `${ms(jitter[i])} jitter`;
    if (range?.[i] != null) text += ` (range ${ms(range[i])})`;
    if (rtt?.[i] != null) text += `, ${ms(rtt[i])} RTT`;
    if (loss?.[i] != null) text += `, ${percent(loss[i] * 100)} loss`;
    if (mos?.[i] != null) text += `, MOS ${short(mos[i], 2)}`;
    return text;
  },
  key: [
    { swatch: null, text: "line: jitter, the 10–90% spread of the delay variation between packets" },
    { swatch: "smoke", text: "band: up to the full range (largest minus smallest variation)" },
    { swatch: "loss", text: "loss: marks along the bottom" },
  ],
};
