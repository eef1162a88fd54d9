// Where a value axis stops: pure, so that node can test it
// (tests/unit/test_js_axis.py) without a browser.

/**
 * The top of a value axis that outliers do not flatten: the highest value
 * `hi`, unless it is more than three times the 95th percentile of the values
 * drawn (lines and bands' extremes, at least 20 of them); then the highest
 * value within that, so that only the outliers lie above the axis, where
 * `clippedPlugin` marks them, as smokeping-style latency graphs do.
 */
export function robustTop(values, hi) {
  if (values.length < 20 || !Number.isFinite(hi)) return hi;
  const sorted = Float64Array.from(values).sort();
  const limit = 3 * sorted[Math.floor(0.95 * (sorted.length - 1))];
  if (!(limit > 0) || hi <= limit) return hi;
  let top = 0;
  for (const v of sorted) if (v <= limit) top = v;
  return top;
}
