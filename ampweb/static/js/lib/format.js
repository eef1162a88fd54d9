// Number formatting for graph axes, legends and readouts, and colour helpers.

/**
 * At most `digits` significant digits, without trailing zeros: 12.3, 0.0456, 1234, 56,789, 1.2M.
 * With `suffix: false` large values stay whole numbers with grouped thousands (250,000).
 */
export function short(v, digits = 3, { suffix = true } = {}) {
  if (v == null || !Number.isFinite(v)) return "—";
  // Beyond five digits a suffix keeps axis labels within the axis: 250k, 1.5M, 3G.
  if (suffix && Math.abs(v) >= 1e5) {
    for (const [size, suffix] of [[1e9, "G"], [1e6, "M"], [1e3, "k"]]) {
      if (Math.abs(v) >= size) return `${+(v / size).toPrecision(Math.max(digits, 3))}${suffix}`;
    }
  }
  if (Math.abs(v) >= 10 ** digits) return Math.round(v).toLocaleString("en");
  return String(+v.toPrecision(digits));
}

export function ms(v, digits = 3) {
  return v == null ? "—" : `${short(v, digits)} ms`;
}

export function percent(v, digits = 2) {
  if (v == null) return "—";
  return `${v >= 10 || v === 0 ? short(v, Math.max(digits, 3)) : short(v, digits)}%`;
}

/** `part` as a share of `whole`: "12%", "5.3%", "0%"; "—" when `whole` is 0. */
export function share(part, whole) {
  if (!whole) return "—";
  const p = (100 * part) / whole;
  return `${p >= 10 || p === 0 ? p.toFixed(0) : p.toFixed(1)}%`;
}

/** Bytes in B, kB, MB or GB (powers of 1000). */
export function bytes(v, digits = 3) {
  if (v == null) return "—";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let n = v;
  let i = 0;
  while (Math.abs(n) >= 1000 && i < units.length - 1) {
    n /= 1000;
    i += 1;
  }
  return `${short(n, digits)} ${units[i]}`;
}

/** A rate in Mbit/s as kbit/s, Mbit/s or Gbit/s. */
export function mbits(v, digits = 3) {
  if (v == null) return "—";
  if (Math.abs(v) >= 1000) return `${short(v / 1000, digits)} Gbit/s`;
  if (Math.abs(v) < 1 && v !== 0) return `${short(v * 1000, digits)} kbit/s`;
  return `${short(v, digits)} Mbit/s`;
}

/** A value with its unit from the API's `units` (ms, bytes, Mbit/s, fraction, or anything). */
export function withUnit(v, unit, digits = 3) {
  if (v == null) return "—";
  switch (unit) {
    case "ms":
      return ms(v, digits);
    case "bytes":
      return bytes(v, digits);
    case "Mbit/s":
      return mbits(v, digits);
    case "fraction":
      return percent(v * 100, digits);
    case "bytes/min":
      return `${bytes(v, digits)}/min`;
    default:
      return unit ? `${short(v, digits)} ${unit}` : short(v, digits);
  }
}

/** "31, 119, 180" from "#1f77b4" (for rgba() fills in a line's colour). */
export function rgbOf(hex) {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex || "");
  if (!m) return "55, 65, 81";
  return [m[1], m[2], m[3]].map((h) => parseInt(h, 16)).join(", ");
}
