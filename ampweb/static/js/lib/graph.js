// The pure model of the graph page (view.js): the lines' data merged into the
// x values and series one uPlot graph draws, with the bands and marks of the
// lines, the y range each scale shows, and the series options. Nothing here
// touches the page, so tests/js/graph.test.mjs runs it under node.

import { toColumns } from "./api.js";
import { rgbOf } from "./format.js";

/** A line without data (before the first answer, or absent from it). */
export const EMPTY = { columns: {}, units: {}, x: [], binStart: [], binsize: 0, points: 0, aggregation: "", index: new Map() };

/** A "nice" tick step for a span: 1, 2, 2.5 or 5 times a power of ten. */
export function niceStep(span) {
  const raw = span / 5;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

/** The y range for values in [lo, hi]: padded a little, from 0 up unless negative, on tick steps. */
export function fitRange(lo, hi) {
  if (!(hi >= lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 10];
  const pad = Math.max((hi - lo) * 0.1, Math.abs(hi) * 0.02, 1e-6);
  let lower = lo >= 0 ? Math.max(0, lo - pad) : lo - pad;
  let upper = hi + pad;
  const step = niceStep(upper - lower);
  lower = lo >= 0 ? Math.max(0, Math.floor(lower / step) * step) : Math.floor(lower / step) * step;
  upper = Math.ceil(upper / step) * step;
  return [lower, upper];
}

/**
 * Everything one graph draws for the lines' data: the x values of all lines
 * merged, one uPlot series per line series (nulls are gaps; where a line has
 * no bin at a merged x the value is undefined, which uPlot draws across), and
 * the bands and marks of the lines. `ctx` is what the style's functions get
 * ({summary, metric, lineCount}); `isShown(line)` is asked whenever a band or
 * mark is drawn, so the legend switches them without a rebuild.
 */
export function buildModel(lines, datas, style, ctx, isShown) {
  const summary = ctx.summary;
  const xs = [...new Set(datas.flatMap((d) => d.x))].sort((a, b) => a - b);
  const pos = new Map(xs.map((x, i) => [x, i]));
  const series = [];
  const bands = [];
  const marks = [];
  lines.forEach((line, li) => {
    const data = datas[li] || EMPTY;
    const rgb = rgbOf(line.colour);
    const show = () => isShown(line);
    for (const def of style.series(line, data, ctx)) {
      const values = new Array(xs.length).fill(undefined);
      data.x.forEach((x, i) => {
        const v = def.values[i];
        values[pos.get(x)] = v === undefined ? null : v;
      });
      series.push({ line, li, def, values: joinSparse(xs, values) });
    }
    for (const band of style.bands ? style.bands(line, data, ctx) : []) {
      bands.push({ ...band, binStart: data.binStart, binsize: data.binsize, rgb, line, get show() { return show(); } });
    }
    const mark = !summary && style.marks ? style.marks(line, data, ctx) : null;
    if (mark) marks.push({ ...mark, binStart: data.binStart, binsize: data.binsize, rgb, get show() { return show(); } });
  });
  return { xs, series, bands, marks, data: [xs, ...series.map((s) => s.values)] };
}

/** The lowest and highest value drawn on `scale` between the x scale's ends, and the values. */
export function visibleExtent(u, model, scale) {
  let lo = Infinity;
  let hi = -Infinity;
  const values = [];
  if (!model) return [lo, hi, values];
  const { min, max } = u.scales.x;
  const take = (v) => {
    if (v == null || !Number.isFinite(v)) return;
    values.push(v);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  };
  // Before the x scale is set (a plot being built), every x counts.
  const visible = (x) => min == null || max == null || (x >= min && x <= max);
  model.series.forEach((s, k) => {
    if (s.def.scale !== scale || !u.series[k + 1].show) return;
    model.xs.forEach((x, i) => {
      if (visible(x)) take(s.values[i]);
    });
  });
  for (const band of model.bands) {
    if (band.scale !== scale || !band.show) continue;
    band.binStart.forEach((t, i) => {
      const s = band.smoke[i];
      if (!s || (min != null && t + band.binsize < min) || (max != null && t > max)) return;
      take(band.min && band.min[i] != null ? band.min[i] : s[0]);
      for (let k = s.length - 1; k >= 0; k--) {
        if (s[k] != null) {
          take(s[k]);
          break;
        }
      }
    });
  }
  return [lo, hi, values];
}

/**
 * `values` with the short runs of nulls between measurements made undefined,
 * so the line is drawn across them: a test that runs every 30 minutes leaves
 * empty 10-minute bins between its results, which are not outages. A run of
 * nulls longer than 1.5 times the usual spacing of the line's points stays a
 * gap.
 */
export function joinSparse(xs, values) {
  const present = [];
  values.forEach((v, i) => v != null && present.push(i));
  if (present.length < 3) return values;
  const spacings = present.slice(1).map((i, k) => xs[i] - xs[present[k]]).sort((a, b) => a - b);
  const usual = spacings[Math.floor(spacings.length / 2)];
  const out = values.slice();
  for (let k = 1; k < present.length; k++) {
    const a = present[k - 1];
    const b = present[k];
    if (b - a > 1 && xs[b] - xs[a] <= usual * 1.5) {
      for (let i = a + 1; i < b; i++) out[i] = undefined;
    }
  }
  return out;
}

/** Indexes of points with no neighbour: a line has nothing to draw there, so they get a dot. */
export function isolatedPoints(values) {
  const idxs = [];
  const has = (i) => values[i] != null;
  for (let i = 0; i < values.length; i++) {
    if (!has(i)) continue;
    let before = i - 1;
    while (before >= 0 && values[before] === undefined) before--;
    let after = i + 1;
    while (after < values.length && values[after] === undefined) after++;
    if (!(before >= 0 && has(before)) && !(after < values.length && has(after))) idxs.push(i);
  }
  return idxs.length ? idxs : null;
}

/** uPlot's series options for a model's series; those of lines in `hidden` (line ids) start hidden. */
export function uplotSeries(model, summary, hidden) {
  return model.series.map((s, k) => ({
    label: `${s.line.title} ${s.line.label} ${s.def.label}`,
    scale: s.def.scale,
    stroke: s.line.colour,
    width: s.def.width ?? 2,
    dash: s.def.dash || undefined,
    spanGaps: false,
    show: !hidden.has(s.line.line_id),
    points: {
      show: !!s.def.points,
      size: summary ? 3 : 5,
      fill: s.line.colour,
      stroke: s.line.colour,
      filter: s.def.points ? null : (u) => isolatedPoints(u.data[k + 1]),
    },
  }));
}

/** The binning of the lines that have data ("10 minute bins; hourly"), without repeats. */
export function binningText(datas) {
  const labels = [...new Set(datas.filter((d) => d.points > 0 || d.aggregation).map((d) => d.aggregation).filter(Boolean))];
  return labels.join("; ");
}

/** toColumns() of an API line, with `index` from x value to bin index. */
export function withIndex(line) {
  const data = toColumns(line);
  data.index = new Map(data.x.map((x, i) => [x, i]));
  return data;
}
