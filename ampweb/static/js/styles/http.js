// HTTP page fetches: fetch time (solid, left axis, over a smoke band of its
// percentiles) and page size (dotted, right axis), per line.

import { bytes, ms, short } from "../lib/format.js";
import { counted } from "../lib/words.js";

export default {
  scales: {
    ms: { unit: "ms", format: ms },
    bytes: { unit: "bytes", format: bytes },
  },
  series(line, data, { summary }) {
    const series = [
      { label: "fetch time", scale: "ms", values: data.columns.duration || [], width: summary ? 1.25 : 2 },
    ];
    if (!summary) {
      series.push({ label: "page size", scale: "bytes", values: data.columns.bytes || [], width: 1.5, dash: [2, 3] });
    }
    return series;
  },
  bands(line, data, { summary, lineCount }) {
    const smoke = data.columns.duration_smoke;
    if (!smoke) return [];
    const strength = (summary ? 0.45 : 0.8) / Math.sqrt(Math.max(1, lineCount));
    return [{ scale: "ms", smoke, min: null, strength }];
  },
  readout(line, data, i) {
    const { duration, objects, servers, failed_objects: failed } = data.columns;
    const size = data.columns.bytes;
    if (duration?.[i] == null) return "—";
    let text = `${ms(duration[i])}, ${bytes(size?.[i])}`;
    if (objects?.[i] != null) text += `, ${counted(+short(objects[i]), "object")}`;
    if (servers?.[i] != null) text += ` from ${counted(+short(servers[i]), "server")}`;
    if (failed?.[i]) text += `, ${counted(+short(failed[i]), "object")} failed`;
    return text;
  },
  key: [{ swatch: null, text: "solid: time to fetch the page (left) · dotted: page size (right) · band: percentiles of the fetch time" }],
};
