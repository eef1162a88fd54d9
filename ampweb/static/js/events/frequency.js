// The events dashboard's frequency graph: events per 30 minutes over the
// filter's range (GET /api/v1/events/frequency with the page's filter),
// drawn as bars with uPlot; redrawn when the time zone switch changes.

import uPlot from "../../vendor/uplot/uPlot.esm.js";
import { fetchJSON } from "../lib/api.js";
import { h } from "../lib/dom.js";
import { EVENT, formatTime, timeTicks, tzDate, zone } from "../lib/timezone.js";

const HEIGHT = 170;
const BAR = "#b42318";

function options(width, answer) {
  return {
    width,
    height: HEIGHT,
    tzDate: tzDate(uPlot),
    legend: { show: false },
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    scales: { x: { time: true, range: [answer.start, answer.end] }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    axes: [
      { values: timeTicks, space: 70 },
      { label: "events", size: 50, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] },
    ],
    series: [
      {},
      {
        label: "Events",
        stroke: BAR,
        fill: "rgba(180, 35, 24, 0.35)",
        width: 1,
        points: { show: false },
        paths: uPlot.paths.bars({ size: [0.9, 40], align: 1 }),
      },
    ],
  };
}

export class FrequencyGraph {
  constructor(root) {
    this.root = root;
    this.plot = null;
    this.answer = null;
    this.note = h("p", { class: "events-frequency-note" });
  }

  async start() {
    await this.refresh();
    window.addEventListener(EVENT, () => this.answer && this.draw());
    new ResizeObserver(() => this.resize()).observe(this.root);
  }

  /** Ask the API again and redraw (new events arrived). */
  async refresh() {
    try {
      this.answer = await fetchJSON(this.root.dataset.api);
      this.draw();
    } catch (err) {
      this.plot?.destroy();
      this.plot = null;
      this.root.replaceChildren(h("p", { class: "events-error", text: `No graph: ${err.message}` }));
    } finally {
      this.root.dataset.ready = "true";
    }
  }

  draw() {
    const { times, counts, start, end } = this.answer;
    this.plot?.destroy();
    this.root.replaceChildren();
    // Empty bins draw nothing (a zero-height bar would still draw its outline).
    const bars = counts.map((n) => n || null);
    this.plot = new uPlot(options(this.root.clientWidth || 500, this.answer), [times, bars], this.root);
    const total = counts.reduce((sum, n) => sum + n, 0);
    const busiest = Math.max(0, ...counts);
    const suffix = zone() === "utc" ? " UTC" : "";
    this.note.textContent =
      `${total} event${total === 1 ? "" : "s"} from ${formatTime(start)} to ${formatTime(end)}${suffix}` +
      (total ? `; at most ${busiest} in 30 minutes.` : ".");
    this.root.append(this.note);
    this.root.dataset.total = String(total);
    this.root.dataset.bins = String(times.length);
  }

  resize() {
    const width = this.root.clientWidth;
    if (this.plot && width && Math.abs(width - this.plot.width) > 2) {
      this.plot.setSize({ width, height: HEIGHT });
    }
  }
}

/** The frequency graph in `root` (#events-frequency), if the page has one. */
export function initFrequency(root) {
  if (!root) return null;
  const graph = new FrequencyGraph(root);
  graph.start();
  return graph;
}
