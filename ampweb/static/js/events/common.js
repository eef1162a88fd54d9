// The events dashboard's "common events": the streams with the most events
// in the last 24 hours (GET /api/v1/events/common with the page's filter),
// each with its title, its count and a link to its graph.

import { fetchJSON } from "../lib/api.js";
import { h } from "../lib/dom.js";

function item(stream) {
  return h(
    "li",
    { class: "events-common-item", "data-stream-id": stream.stream_id },
    h("a", { href: stream.graph_url, text: stream.title, title: `${stream.collection} stream ${stream.stream_id}` }),
    h("span", {
      class: "events-common-count",
      text: `${stream.events} event${stream.events === 1 ? "" : "s"}`,
      title: `Highest severity ${stream.max_severity}`,
    }),
  );
}

/** Fill `root` (#events-common, an <ol>) with the common streams, if the page has one; again to refresh. */
export async function initCommon(root) {
  if (!root) return;
  try {
    const { items } = await fetchJSON(root.dataset.api);
    root.replaceChildren(
      ...(items.length ? items.map(item) : [h("li", { class: "events-empty", text: "No events in the last 24 hours." })]),
    );
  } catch (err) {
    root.replaceChildren(h("li", { class: "events-error", text: `Not available: ${err.message}` }));
  } finally {
    root.dataset.ready = "true";
  }
}
