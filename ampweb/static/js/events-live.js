// The events dashboard updates itself: every 15 s (ampweb.events_refresh) it asks /events/live
// what changed after the last change to groups it has seen, with the page's
// own query parameters (so whatever filters the URL holds apply to the
// updates too). Nothing changed: a 304, one index probe on the server. Else
// the changed groups the filters show, rendered by the page's template, go
// to their place in the list (newest start first) and those it no longer
// shows (merged into another, or changed out of the filters) leave it.
//
// Nothing jumps: the first group in view stays where it was on the screen
// (groups inserted or removed above it scroll the page by as much), new and
// changed groups are highlighted for a moment, and a reader who has scrolled
// down gets an "N new groups" button instead of the page moving under them.
// The polls pause while the tab is hidden and resume at once when it shows.

export const POLL_MS = 15000;
/** How soon to ask again when an answer did not bring every change. */
const CATCH_UP_MS = 500;
/** After a failed poll, wait this many intervals more each time (up to MAX_BACKOFF). */
const MAX_BACKOFF = 8;

/** A group element's place in the list: [start, id], compared newest first. */
function keyOf(el) {
  return [Number(el.dataset.tsStarted), Number(el.dataset.groupId)];
}

/** Parse "ts.id" bounds from the list's data attributes; null when absent. */
export function parseBound(text) {
  if (!text) return null;
  const [ts, id] = text.split(".").map(Number);
  return Number.isFinite(ts) && Number.isFinite(id) ? [ts, id] : null;
}

/** Whether key a comes before key b in a newest-first list. */
export function before(a, b) {
  return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
}

/** Whether a group with `key` belongs to this page: after `upper` and before `lower`. */
export function inPage(key, upper, lower) {
  return (!upper || before(upper, key)) && (!lower || before(key, lower));
}

/** The query of a poll: the page's own parameters but its cursor, and the change seen. */
export function pollQuery(search, serial) {
  const params = new URLSearchParams(search);
  params.delete("cursor");
  params.set("since", String(serial));
  return params.toString();
}

function fromHtml(html) {
  const template = document.createElement("template");
  template.innerHTML = html.trim();
  return template.content.firstElementChild;
}

/** The first group whose bottom is below the top of the window. */
function firstInView(list) {
  for (const el of list.children) {
    if (el.getBoundingClientRect().bottom > 0) return el;
  }
  return null;
}

/**
 * Start the self-update of `list` (the dashboard's <ol>); `onChange` runs after
 * groups were added (e.g. to format their times). Polls every data-interval ms
 * (the server's ampweb.events_refresh), else every POLL_MS. Returns { poll, stop }.
 */
export function startLive(list, { onChange = () => {} } = {}) {
  const interval = Number(list.dataset.interval) || POLL_MS;
  let serial = Number(list.dataset.serial) || 0;
  const url = list.dataset.live;
  const upper = parseBound(list.dataset.upper);
  const lower = parseBound(list.dataset.lower);
  const empty = document.querySelector(".events-empty");
  const banner = document.getElementById("events-new");
  const bannerButton = banner?.querySelector("button");
  let unseen = 0;
  let timer = null;
  let failures = 0;
  let busy = false;
  let stopped = false;

  function showBanner() {
    if (!banner) return;
    banner.hidden = unseen === 0;
    if (bannerButton) bannerButton.textContent = `${unseen} new group${unseen === 1 ? "" : "s"} ↑`;
  }

  bannerButton?.addEventListener("click", () => {
    unseen = 0;
    showBanner();
    window.scrollTo({ top: 0, behavior: "smooth" });
  });
  window.addEventListener("scroll", () => {
    if (unseen && list.getBoundingClientRect().top >= 0) {
      unseen = 0;
      showBanner();
    }
  }, { passive: true });

  function place(el) {
    const key = keyOf(el);
    for (const other of list.children) {
      if (before(key, keyOf(other))) {
        list.insertBefore(el, other);
        return;
      }
    }
    list.append(el);
  }

  function apply(answer) {
    const scrolled = window.scrollY > 0;
    const anchor = scrolled ? firstInView(list) : null;
    const anchorId = anchor?.dataset.groupId;
    const anchorTop = anchor?.getBoundingClientRect().top ?? 0;
    const byId = (id) => list.querySelector(`li.event-group[data-group-id="${id}"]`);
    let added = 0;
    let addedAbove = 0;
    for (const id of answer.removed) byId(id)?.remove();
    for (const group of answer.groups) {
      const old = byId(group.id);
      const el = fromHtml(group.html);
      if (!el) continue;
      old?.remove();
      if (!inPage(keyOf(el), upper, lower)) continue;
      place(el);
      el.classList.add("event-group-fresh");
      el.addEventListener("animationend", () => el.classList.remove("event-group-fresh"), {
        once: true,
      });
      added += 1;
      if (!old && scrolled && el.getBoundingClientRect().bottom <= 0) addedAbove += 1;
    }
    if (anchorId !== undefined) {
      const moved = byId(anchorId);
      if (moved) {
        const shift = moved.getBoundingClientRect().top - anchorTop;
        if (shift) window.scrollBy(0, shift);
      }
    }
    if (empty) empty.hidden = list.children.length > 0;
    if (addedAbove) {
      unseen += addedAbove;
      showBanner();
    }
    if (added) onChange();
  }

  async function poll() {
    if (busy || stopped) return;
    busy = true;
    let again = interval * Math.min(MAX_BACKOFF, 2 ** failures);
    try {
      // "no-cache": the browser revalidates its copy of this URL's last answer with
      // If-None-Match, and the server's 304 (nothing changed) gives that copy back.
      const response = await fetch(`${url}?${pollQuery(window.location.search, serial)}`, {
        headers: { Accept: "application/json" },
        cache: "no-cache",
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const answer = await response.json();
      // A lower serial: the database was restored from a backup; carry on from its.
      if (answer.serial !== serial) {
        apply(answer);
        serial = answer.serial;
      }
      if (!answer.complete) again = CATCH_UP_MS;
      failures = 0;
      list.dataset.serial = String(serial);
      again = Math.min(again, interval);
    } catch (error) {
      // The server is away or refused: try again later, less often.
      failures += 1;
      console.warn("events: live update failed:", error.message);
    } finally {
      busy = false;
      schedule(again);
    }
  }

  function schedule(delay) {
    clearTimeout(timer);
    if (!stopped && !document.hidden) timer = setTimeout(poll, delay);
  }

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) clearTimeout(timer);
    else poll();
  });
  schedule(interval);
  return {
    poll,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
