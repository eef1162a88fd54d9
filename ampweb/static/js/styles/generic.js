// Any other view style (file operations, path lengths, collections without a
// style of their own): one line per line of the view for one column of its
// history, chosen on the page, with the column's percentiles as smoke when
// the history has them.

import { withUnit } from "../lib/format.js";

const SMOKE = "_smoke";

/** The columns a line can draw: numbers (not smoke), in the history's order. */
export function metricsOf(data) {
  return Object.keys(data.columns).filter((name) => !name.endsWith(SMOKE));
}

export default {
  generic: true,
  scales: { value: { unit: "", format: (v) => String(v) } },
  /** Scales for the chosen metric's unit (the unit comes from the first line's history). */
  scalesFor(unit) {
    return { value: { unit: unit || "", format: (v, digits) => withUnit(v, unit, digits) } };
  },
  series(line, data, { summary, metric }) {
    return [
      {
        label: metric,
        scale: "value",
        values: data.columns[metric] || [],
        width: summary ? 1.25 : 2,
        points: data.points < 60,
      },
    ];
  },
  bands(line, data, { summary, metric, lineCount }) {
    const smoke = data.columns[metric + SMOKE];
    if (!smoke) return [];
    const strength = (summary ? 0.5 : 1) / Math.sqrt(Math.max(1, lineCount));
    return [{ scale: "value", smoke, min: null, strength }];
  },
  readout(line, data, i, { metric }) {
    return withUnit(data.columns[metric]?.[i], data.units[metric]);
  },
  key: [],
};
