// Throughput graphs: the mean rate of each line (download and upload are lines
// of their own, upload dashed), with the bin's min–max as a light band.

import { bytes, mbits } from "../lib/format.js";
import { counted } from "../lib/words.js";

const isUpload = (line) => /upload|\bout\b/i.test(line.label || "");

export default {
  scales: { rate: { unit: "Mbit/s", format: mbits } },
  series(line, data, { summary }) {
    return [
      {
        label: "rate",
        scale: "rate",
        values: data.columns.rate || [],
        width: summary ? 1.25 : 2,
        dash: isUpload(line) ? [6, 4] : null,
        points: true,
      },
    ];
  },
  bands(line, data, { summary }) {
    const { min, max } = data.columns;
    if (!min || !max || summary) return [];
    return [{ scale: "rate", smoke: max.map((v) => (v == null ? null : [v])), min, strength: 0.35 }];
  },
  readout(line, data, i) {
    const { rate, min, max, tests, bytes: sent } = data.columns;
    if (rate?.[i] == null) return "—";
    let text = mbits(rate[i]);
    if (tests?.[i] > 1) text += ` (${mbits(min[i])}–${mbits(max[i])}, ${counted(tests[i], "test")})`;
    if (sent?.[i] != null) text += `, ${bytes(sent[i])}`;
    return text;
  },
  key: [
    { swatch: null, text: "solid: download (in) · dashed: upload (out) · band: slowest to fastest test of the bin" },
  ],
};
