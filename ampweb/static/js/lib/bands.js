// uPlot plugins for graphs of several lines, each with its own bins: smoke
// bands (stacked percentiles, darker near the median) and loss marks along
// the bottom. Both place bins by time, so lines need not share x values.

import uPlot from "../../vendor/uplot/uPlot.esm.js";
import { lossColour, smokeAlphas } from "./plugins.js";

function clip(u) {
  const { ctx, bbox } = u;
  ctx.save();
  ctx.beginPath();
  ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
  ctx.clip();
}

/** Indexes of the bins of `binStart` that overlap the x scale's range. */
function visible(u, binStart, binsize) {
  const { min, max } = u.scales.x;
  let i0 = 0;
  while (i0 < binStart.length && binStart[i0] + binsize < min) i0++;
  let i1 = binStart.length - 1;
  while (i1 >= i0 && binStart[i1] > max) i1--;
  return [i0, i1];
}

/**
 * Smoke bands. get() returns a list of {binStart, binsize, smoke, min, rgb,
 * strength, scale, show}: `smoke[i]` is bin i's percentiles (ascending), drawn
 * from `min[i]` (or the first percentile) up; `show` false skips the band.
 */
export function bandsPlugin({ get }) {
  return {
    hooks: {
      drawAxes: [
        (u) => {
          const bands = get() || [];
          const { ctx } = u;
          clip(u);
          for (const band of bands) {
            if (band.show === false) continue;
            const { binStart, binsize, smoke, min, rgb, scale } = band;
            const [i0, i1] = visible(u, binStart, binsize);
            let n = 0;
            for (let i = i0; i <= i1 && n === 0; i++) if (smoke[i]) n = smoke[i].length;
            if (n === 0) continue;
            const alphas = n === 1 ? [0.18 * (band.strength ?? 1)] : smokeAlphas(n, { strength: band.strength ?? 1 });
            for (let k = 0; k < n; k++) {
              ctx.fillStyle = `rgba(${rgb}, ${alphas[k].toFixed(3)})`;
              for (let i = i0; i <= i1; i++) {
                const s = smoke[i];
                if (!s) continue;
                const hi = s[k];
                const lo = k === 0 ? (min && min[i] != null ? min[i] : s[0]) : s[k - 1];
                if (hi == null || lo == null) continue;
                const x0 = Math.round(u.valToPos(binStart[i], "x", true));
                const x1 = Math.max(Math.round(u.valToPos(binStart[i] + binsize, "x", true)), x0 + 1);
                const yTop = u.valToPos(hi, scale, true);
                const yBottom = u.valToPos(lo, scale, true);
                ctx.fillRect(x0, yTop, x1 - x0, Math.max(yBottom - yTop, 0.75 * uPlot.pxRatio));
              }
            }
          }
          ctx.restore();
        },
      ],
    },
  };
}

/**
 * Loss marks: one strip per line along the bottom of the plot, each bin that
 * lost something marked with an opacity that grows with the loss. get()
 * returns a list of {binStart, binsize, fractions, rgb, show}.
 */
export function marksPlugin({ get, height = 6 }) {
  return {
    hooks: {
      draw: [
        (u) => {
          const strips = (get() || []).filter((s) => s.show !== false);
          const { ctx, bbox } = u;
          const h = Math.round(height * uPlot.pxRatio);
          clip(u);
          strips.forEach((strip, row) => {
            const { binStart, binsize, fractions, rgb } = strip;
            const y = bbox.top + bbox.height - h * (row + 1);
            const [i0, i1] = visible(u, binStart, binsize);
            for (let i = i0; i <= i1; i++) {
              const f = fractions[i];
              if (!(f > 0)) continue;
              const x0 = Math.round(u.valToPos(binStart[i], "x", true));
              const x1 = Math.max(Math.round(u.valToPos(binStart[i] + binsize, "x", true)), x0 + 2);
              ctx.fillStyle = lossColour(f, rgb);
              ctx.fillRect(x0, y, x1 - x0, h - 1);
            }
          });
          ctx.restore();
        },
      ],
    },
  };
}
