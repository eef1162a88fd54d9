// The events of a view's streams on a graph's time axis, as every graph page
// marks them: GET /api/v1/events?view= over the graph's range (the newest
// MAX_MARKED_EVENTS of it), drawn by eventMarkersPlugin (event-markers.js), a
// marker opening its groups on the events dashboard. One viewEvents() serves
// one graph: the detail and the summary graph of view.js each have their own,
// asked once per range they show; the paths pages' summary has one.

import { fetchJSON, withParams } from "./api.js";
import { eventMarkersPlugin } from "./event-markers.js";

/** The most events marked on one range (the API's largest page): the newest, when there are more. */
export const MAX_MARKED_EVENTS = 500;

/**
 * The events of view `viewId` for the graph drawn in `container`:
 * `load([start, end])` asks for those with an onset in the range (one
 * request) and then calls `redraw()`; an older request still under way is
 * left to finish and its answer dropped (not aborted: a cancelled request
 * reads as a failure). A failed request marks nothing: the graph stands
 * without its markers, its data's own errors are shown by its page.
 * `container.dataset.eventsReady` is "false" while a request is under way,
 * "true" once the latest is in. `plugin()` is the graph's eventMarkersPlugin
 * (a new one for each uPlot built), marking the events `shown(event)` keeps;
 * `apiUrl` is GET /api/v1/events, `eventsUrl` the events dashboard,
 * `formatTime(ts)` writes times in markers' notes.
 */
export function viewEvents({ apiUrl, eventsUrl, viewId, container, formatTime, redraw, shown = () => true }) {
  let events = [];
  let seq = 0;

  const onOpen = (event) => window.location.assign(withParams(eventsUrl, { event: event.id }));

  async function load([start, end]) {
    const mine = ++seq;
    container.dataset.eventsReady = "false";
    const url = withParams(apiUrl, {
      view: viewId,
      start: Math.floor(start),
      end: Math.ceil(end) + 1,
      pagesize: MAX_MARKED_EVENTS,
    });
    let answer = [];
    try {
      answer = (await fetchJSON(url)).items;
    } catch {
      // No markers: the graph's data and its errors are the page's.
    }
    if (mine !== seq) return;
    events = answer;
    container.dataset.eventsReady = "true";
    redraw();
  }

  return {
    load,
    get events() {
      return events;
    },
    plugin: () => eventMarkersPlugin({ get: () => events.filter(shown), onOpen, formatTime }),
  };
}
