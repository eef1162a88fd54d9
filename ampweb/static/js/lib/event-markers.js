// Event markers on a graph's time axis: a coloured triangle at each event's
// onset (events closer than a few pixels share one), a faint line up through
// the plot, and on hover or focus a note with what the detectors found. A
// click opens the event's groups on the events dashboard. The geometry and
// the words are pure functions (tests/js/event-markers.test.mjs runs them
// under node); eventMarkersPlugin() puts them on a uPlot graph.

import { h } from "./dom.js";

/** Where each severity level begins (0 to 100, as the detectors score it), most severe first. */
export const SEVERITY_LEVELS = [
  [60, "high"],
  [30, "medium"],
  [0, "low"],
];
export const SEVERITY_COLOURS = { high: "#b91c1c", medium: "#ea580c", low: "#ca8a04" };
/** Markers closer than this (CSS pixels) are drawn as one. */
export const MARKER_GAP = 8;
/** The most events one marker's note lists (it says how many more there are). */
export const NOTE_EVENTS = 6;

/** "high", "medium" or "low". */
export function severityLevel(severity) {
  for (const [from, level] of SEVERITY_LEVELS) if (severity >= from) return level;
  return "low";
}

/**
 * The markers of `events` ({id, ts_onset, severity, ...}) whose onset lies in
 * [min, max], placed by `toPos(ts)` (pixels): events less than `gap` pixels
 * apart share a marker. Each marker: {x, ts, severity (the highest), level,
 * events (most severe first, then oldest)}; markers left to right.
 */
export function clusterMarkers(events, toPos, min, max, gap = MARKER_GAP) {
  const shown = events
    .filter((e) => e.ts_onset >= min && e.ts_onset <= max)
    .map((e) => ({ event: e, x: toPos(e.ts_onset) }))
    .sort((a, b) => a.x - b.x || a.event.id - b.event.id);
  const markers = [];
  let current = null;
  for (const { event, x } of shown) {
    if (current && x - current.last < gap) {
      current.events.push(event);
      current.last = x;
      continue;
    }
    current = { x, last: x, events: [event] };
    markers.push(current);
  }
  return markers.map(({ x, last, events: members }) => {
    members.sort((a, b) => b.severity - a.severity || a.ts_onset - b.ts_onset || a.id - b.id);
    const severity = members[0].severity;
    return { x: (x + last) / 2, ts: members[0].ts_onset, severity, level: severityLevel(severity), events: members };
  });
}

/** One event in words: "median 20 ms -> 40 ms · severity 45 · amp-a → amp-b". */
export function eventText(event) {
  const where = event.source || event.target ? ` · ${event.source} → ${event.target}` : "";
  return `${event.description} · severity ${event.severity}${where}`;
}

/** A marker's note: a heading line and one line per event (at most NOTE_EVENTS, then "and N more"). */
export function markerLines(marker, formatTime) {
  const count = marker.events.length;
  const heading = count === 1 ? `Event at ${formatTime(marker.ts)}` : `${count} events around ${formatTime(marker.ts)}`;
  const lines = marker.events.slice(0, NOTE_EVENTS).map(eventText);
  if (count > NOTE_EVENTS) lines.push(`and ${count - NOTE_EVENTS} more`);
  return [heading, ...lines];
}

/**
 * A uPlot plugin drawing `get()`'s events ({id, ts_onset, severity,
 * description, source, target}) on the time axis. `onOpen(event)` runs on a
 * click (the most severe event of the marker); `formatTime(ts)` writes times.
 * The markers are buttons in the plot's overlay, so they can be hovered,
 * focused and clicked; `layer` is their container (data-count says how many).
 */
export function eventMarkersPlugin({ get, onOpen, formatTime }) {
  let layer = null;
  let note = null;

  const hideNote = () => {
    if (note) note.hidden = true;
  };

  const showNote = (u, marker) => {
    note.replaceChildren(...markerLines(marker, formatTime).map((text, i) => h(i ? "span" : "strong", { text })));
    note.hidden = false;
    note.dataset.eventId = String(marker.events[0].id);
    // Just above the markers (which sit on the plot's bottom edge), kept inside the plot's width.
    const width = note.offsetWidth;
    const left = Math.max(0, Math.min(marker.x - width / 2, u.over.clientWidth - width));
    note.style.left = `${Math.round(left)}px`;
    note.style.bottom = "14px";
  };

  const place = (u) => {
    if (!layer) return;
    const events = get() || [];
    const { min, max } = u.scales.x;
    const markers = min == null ? [] : clusterMarkers(events, (ts) => u.valToPos(ts, "x"), min, max);
    hideNote();
    layer.replaceChildren(
      ...markers.map((marker) => {
        const text = markerLines(marker, formatTime).join("\n");
        const button = h("button", {
          type: "button",
          class: `event-marker severity-${marker.level}`,
          "aria-label": text,
          "data-event-id": marker.events[0].id,
          "data-count": marker.events.length,
          style: `left: ${Math.round(marker.x)}px; --marker-colour: ${SEVERITY_COLOURS[marker.level]}`,
        });
        // A press on a marker is not the start of a drag to zoom.
        button.addEventListener("mousedown", (e) => e.stopPropagation());
        button.addEventListener("mouseenter", () => showNote(u, marker));
        button.addEventListener("focus", () => showNote(u, marker));
        button.addEventListener("mouseleave", hideNote);
        button.addEventListener("blur", hideNote);
        button.addEventListener("click", (e) => {
          e.stopPropagation();
          onOpen(marker.events[0]);
        });
        return button;
      }),
    );
    layer.dataset.count = String(markers.length);
    layer.dataset.events = String(markers.reduce((n, m) => n + m.events.length, 0));
  };

  return {
    hooks: {
      init: [
        (u) => {
          layer = h("div", { class: "event-markers", "data-count": "0" });
          note = h("div", { class: "event-note", role: "tooltip" });
          note.hidden = true;
          u.over.append(layer, note);
        },
      ],
      // A faint line up through the plot at each marker, under the data's lines.
      drawAxes: [
        (u) => {
          const { ctx, bbox } = u;
          const { min, max } = u.scales.x;
          if (min == null) return;
          ctx.save();
          const ratio = globalThis.devicePixelRatio || 1;
          ctx.setLineDash([3 * ratio, 3 * ratio]);
          ctx.lineWidth = ratio;
          for (const marker of clusterMarkers(get() || [], (ts) => u.valToPos(ts, "x", true), min, max, MARKER_GAP * ratio)) {
            ctx.strokeStyle = `${SEVERITY_COLOURS[marker.level]}66`;
            ctx.beginPath();
            ctx.moveTo(Math.round(marker.x) + 0.5, bbox.top);
            ctx.lineTo(Math.round(marker.x) + 0.5, bbox.top + bbox.height);
            ctx.stroke();
          }
          ctx.restore();
        },
      ],
      draw: [place],
    },
  };
}
