// uPlot plugins drawing straight onto the plot canvas: the Smokeping-style
// smoke band, the loss strip along the bottom, and the highlighted range on
// the summary graph. Each takes getters so that it always draws the graph's
// current data.

import uPlot from "../../vendor/uplot/uPlot.esm.js";

/** The data indexes in view, widened by one on each side so partly visible bins are drawn. */
function visibleRange(u, length) {
  const idxs = u.series[0].idxs;
  let i0 = 0;
  let i1 = length - 1;
  if (idxs && idxs[0] != null && idxs[1] != null) {
    i0 = Math.max(0, idxs[0] - 1);
    i1 = Math.min(length - 1, idxs[1] + 1);
  }
  return [i0, i1];
}

function clipToPlot(u) {
  const { ctx, bbox } = u;
  ctx.save();
  ctx.beginPath();
  ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
  ctx.clip();
}

/**
 * Opacity of each smoke band, for `n` percentiles (the k-th is the
 * 100·(k+1)/n-th percentile; band k spans from the previous percentile — the
 * bin's minimum for k = 0 — to it). Bands near the median are darkest.
 */
export function smokeAlphas(n, { strength = 1 } = {}) {
  const alphas = [];
  for (let k = 0; k < n; k++) {
    const centre = (100 * (k + 0.5)) / n;
    const distance = Math.min(1, Math.abs(centre - 50) / 50); // 0 at the median, 1 at the extremes
    alphas.push(strength * (0.07 + 0.5 * Math.pow(1 - distance, 1.6)));
  }
  return alphas;
}

/**
 * Smoke: for each bin, its percentiles drawn as stacked translucent rectangles
 * one bin wide, darker near the median. Drawn after the grid, before the lines.
 *
 * get() returns {binStart, binsize, smoke, min} (or null); show(u) says whether to draw.
 */
export function smokePlugin({ get, show = () => true, scale = "ms", rgb = "55, 65, 81", strength = 1 }) {
  let cachedN = 0;
  let alphas = [];
  return {
    hooks: {
      drawAxes: [
        (u) => {
          const data = get();
          if (!data || !show(u) || data.smoke.length === 0) return;
          const { ctx } = u;
          const { binStart, binsize, smoke, min } = data;
          const [i0, i1] = visibleRange(u, smoke.length);
          // All bins have the same number of percentiles; take it from the first that has them.
          let n = 0;
          for (let i = i0; i <= i1 && n === 0; i++) if (smoke[i]) n = smoke[i].length;
          if (n === 0) return;
          if (n !== cachedN) {
            alphas = smokeAlphas(n, { strength });
            cachedN = n;
          }
          // Pixel columns of each bin, so neighbouring bins touch without overlapping.
          const xs = new Array(i1 - i0 + 2);
          for (let i = i0; i <= i1 + 1; i++) {
            const t = i <= i1 ? binStart[i] : binStart[i1] + binsize;
            xs[i - i0] = Math.round(u.valToPos(t, "x", true));
          }
          clipToPlot(u);
          for (let k = 0; k < n; k++) {
            ctx.fillStyle = `rgba(${rgb}, ${alphas[k].toFixed(3)})`;
            for (let i = i0; i <= i1; i++) {
              const s = smoke[i];
              if (!s) continue;
              const hi = s[k];
              const lo = k === 0 ? (min && min[i] != null ? min[i] : s[0]) : s[k - 1];
              if (hi == null || lo == null) continue;
              const x0 = xs[i - i0];
              const x1 = Math.max(xs[i - i0 + 1], x0 + 1);
              const yTop = u.valToPos(hi, scale, true);
              const yBottom = u.valToPos(lo, scale, true);
              const h = Math.max(yBottom - yTop, 0.75 * uPlot.pxRatio);
              ctx.fillRect(x0, yTop, x1 - x0, h);
            }
          }
          ctx.restore();
        },
      ],
    },
  };
}

/** The colour of a loss marker for a loss fraction in (0, 1]. */
export function lossColour(fraction, rgb = "220, 38, 38") {
  const f = Math.min(1, Math.max(0, fraction));
  return `rgba(${rgb}, ${(0.3 + 0.7 * Math.sqrt(f)).toFixed(3)})`;
}

/**
 * Loss: a strip along the bottom of the plot where each bin that lost packets
 * gets a mark whose opacity grows with the loss fraction.
 *
 * get() returns {binStart, binsize, lossrate} (or null).
 */
export function lossStripPlugin({ get, show = () => true, height = 7, rgb = "220, 38, 38" }) {
  return {
    hooks: {
      draw: [
        (u) => {
          const data = get();
          if (!data || !show(u)) return;
          const { ctx, bbox } = u;
          const { binStart, binsize, lossrate } = data;
          const [i0, i1] = visibleRange(u, lossrate.length);
          const h = Math.round(height * uPlot.pxRatio);
          const y = bbox.top + bbox.height - h;
          clipToPlot(u);
          for (let i = i0; i <= i1; i++) {
            const f = lossrate[i];
            if (!(f > 0)) continue;
            const x0 = Math.round(u.valToPos(binStart[i], "x", true));
            const x1 = Math.max(Math.round(u.valToPos(binStart[i] + binsize, "x", true)), x0 + 2);
            ctx.fillStyle = lossColour(f, rgb);
            ctx.fillRect(x0, y, x1 - x0, h);
          }
          ctx.restore();
        },
      ],
    },
  };
}

/** Shades [start, end] from get() on the plot, with edges: the detail range on the summary graph. */
export function rangeHighlightPlugin({ get, rgb = "29, 78, 216" }) {
  return {
    hooks: {
      draw: [
        (u) => {
          const range = get();
          if (!range) return;
          const { ctx, bbox } = u;
          const x0 = Math.round(u.valToPos(range[0], "x", true));
          const x1 = Math.round(u.valToPos(range[1], "x", true));
          const left = Math.max(bbox.left, Math.min(x0, x1));
          const right = Math.min(bbox.left + bbox.width, Math.max(x0, x1));
          if (right < bbox.left || left > bbox.left + bbox.width) return;
          clipToPlot(u);
          ctx.fillStyle = `rgba(${rgb}, 0.12)`;
          ctx.fillRect(left, bbox.top, Math.max(right - left, 2), bbox.height);
          ctx.strokeStyle = `rgba(${rgb}, 0.75)`;
          ctx.lineWidth = Math.max(1, Math.round(uPlot.pxRatio));
          ctx.beginPath();
          for (const x of [x0, x1]) {
            if (x >= bbox.left && x <= bbox.left + bbox.width) {
              ctx.moveTo(x + 0.5, bbox.top);
              ctx.lineTo(x + 0.5, bbox.top + bbox.height);
            }
          }
          ctx.stroke();
          ctx.restore();
        },
      ],
    },
  };
}

/**
 * Marks the points of each shown series that lie above its axis (clipped by
 * `robustTop`): a small triangle in the line's colour along the top of the
 * plot. get() returns the graph model ({xs, series: [{line, def, values}]});
 * onCount(n) hears how many points were marked at each draw.
 */
export function clippedPlugin({ get, onCount = () => {} }) {
  return {
    hooks: {
      draw: [
        (u) => {
          const model = get();
          let count = 0;
          if (model) {
            const { ctx, bbox } = u;
            const size = 5 * uPlot.pxRatio;
            clipToPlot(u);
            model.series.forEach((s, k) => {
              if (!u.series[k + 1] || !u.series[k + 1].show) return;
              const top = u.scales[s.def.scale]?.max;
              if (top == null) return;
              ctx.fillStyle = s.line.colour;
              s.values.forEach((v, i) => {
                const x = model.xs[i];
                if (v == null || v <= top || x < u.scales.x.min || x > u.scales.x.max) return;
                count += 1;
                const px = u.valToPos(x, "x", true);
                ctx.beginPath();
                ctx.moveTo(px, bbox.top + 1);
                ctx.lineTo(px - size, bbox.top + 1 + size * 1.4);
                ctx.lineTo(px + size, bbox.top + 1 + size * 1.4);
                ctx.closePath();
                ctx.fill();
              });
            });
            ctx.restore();
          }
          onCount(count);
        },
      ],
    },
  };
}
