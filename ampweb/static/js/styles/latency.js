// Latency graphs (ICMP, DNS and TCP ping): each line's mean latency over a
// smoke band of its percentiles, in the line's colour, with loss marked along
// the bottom of the plot.

import { ms, percent } from "../lib/format.js";

export default {
  scales: { ms: { unit: "ms", format: ms } },
  series(line, data, { summary }) {
    return [
      {
        label: "latency",
        scale: "ms",
        values: data.columns.latency || [],
        width: summary ? 1.25 : 2,
      },
    ];
  },
  bands(line, data, { summary, lineCount }) {
    const smoke = data.columns.smoke;
    if (!smoke) return [];
    const strength = (summary ? 0.5 : 1) / Math.sqrt(Math.max(1, lineCount));
    return [{ scale: "ms", smoke, min: data.columns.min, strength }];
  },
  marks(line, data) {
    return { fractions: data.columns.lossrate || [] };
  },
  readout(line, data, i) {
    const latency = data.columns.latency?.[i];
    const loss = data.columns.lossrate?.[i];
    const smoke = data.columns.smoke?.[i];
    let text = ms(latency);
    if (smoke && smoke[0] != null && smoke[smoke.length - 2] != null) {
      text += ` (5–95%: ${ms(smoke[0])}–${ms(smoke[smoke.length - 2])})`;
    }
    if (loss != null) text += `, ${percent(loss * 100)} loss`;
    return text;
  },
  key: [
    { swatch: "smoke", text: "smoke: each bin's percentiles, darkest at the median" },
    { swatch: "loss", text: "loss: marks along the bottom, stronger is more" },
  ],
};
