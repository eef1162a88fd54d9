// Loss graphs: the share of probes lost in each bin, per line.

import { percent } from "../lib/format.js";

export default {
  scales: {
    pct: {
      unit: "%",
      format: percent,
      // Loss is a share: from 0 to at least 1% and at most 100%.
      fit: (lo, hi) => [0, Math.min(100, Math.max(1, Number.isFinite(hi) ? hi * 1.15 : 1))],
    },
  },
  series(line, data, { summary }) {
    const rate = data.columns.lossrate || [];
    return [
      {
        label: "loss",
        scale: "pct",
        values: rate.map((f) => (f == null ? null : f * 100)),
        width: summary ? 1.25 : 2,
        points: !summary,
      },
    ];
  },
  readout(line, data, i) {
    const f = data.columns.lossrate?.[i];
    const lost = data.columns.loss?.[i];
    const results = data.columns.results?.[i];
    if (f == null) return "—";
    return `${percent(f * 100)}${results ? ` (${short(lost)} of ${short(results)})` : ""}`;
  },
  key: [{ swatch: null, text: "share of probes lost in each bin" }],
};

function short(v) {
  return v == null ? "0" : String(Math.round(v));
}
