// Ratings on the events dashboard: next to each group and each event, how
// many found it useful and not, and for a logged-in user two buttons that
// open a small form (a reason from the server's list, an optional comment)
// and store their rating (a later one replaces it). The user's own rating is
// shown pressed. Every rating can be downloaded as CSV (for tuning the
// detectors). attachRatings(root) adds the widgets to the groups and events
// under `root` that have none yet, with one request for all their counts, so
// the live updates call it again for the groups they bring.
//
// For tests: <body data-ratings-ready="true"> once a round of widgets is in.

import { fetchJSON, postJSON, withParams } from "./lib/api.js";
import { h } from "./lib/dom.js";

const API = "/api/v1";
const SUMMARY_URL = `${API}/event-ratings/summary`;
const CSV_URL = `${API}/event-ratings.csv`;

/** The reasons the server offers ({code, label, useful}), from the first summary. */
let reasons = [];

const rateUrl = (kind, id) => `${API}/${kind === "group" ? "event-groups" : "events"}/${id}/rating`;

/** "useful: a real change in the network — ticket 42", the words of a stored rating. */
function ratingWords(mine) {
  const reason = reasons.find((r) => r.code === mine.reason);
  const verdict = mine.useful ? "useful" : "not useful";
  return `${verdict}${reason ? `: ${reason.label.toLowerCase()}` : ""}${mine.comment ? ` — ${mine.comment}` : ""}`;
}

/** Puts counts and the user's own rating into a widget. */
function fill(widget, counts, user) {
  widget.dataset.useful = String(counts.useful);
  widget.dataset.notUseful = String(counts.not_useful);
  widget.dataset.mine = counts.mine ? (counts.mine.useful ? "useful" : "not-useful") : "";
  for (const button of widget.querySelectorAll("button.rate")) {
    const useful = button.dataset.useful === "true";
    button.querySelector(".rate-count").textContent = String(useful ? counts.useful : counts.not_useful);
    const mine = counts.mine !== null && counts.mine.useful === useful;
    button.setAttribute("aria-pressed", String(mine));
    button.disabled = !user;
    button.title = !user
      ? "Log in to rate"
      : mine
        ? `Your rating: ${ratingWords(counts.mine)} (click to change)`
        : `Rate ${widget.dataset.kind === "group" ? "this group" : "this event"} ${useful ? "useful" : "not useful"}`;
  }
  widget.mine = counts.mine;
}

function makeWidget(kind, id, counts, user) {
  const button = (useful) =>
    h(
      "button",
      { type: "button", class: `rate ${useful ? "rate-useful" : "rate-not-useful"}`, "data-useful": String(useful) },
      h("span", { class: "rate-mark", "aria-hidden": "true", text: useful ? "▲" : "▼" }),
      useful ? " useful " : " not useful ",
      h("span", { class: "rate-count", text: "0" }),
    );
  const widget = h("span", { class: "rating", "data-kind": kind, "data-id": id }, button(true), button(false));
  fill(widget, counts, user);
  widget.addEventListener("click", (event) => {
    const pressed = event.target.closest("button.rate");
    if (pressed && !pressed.disabled) openForm(widget, pressed.dataset.useful === "true", user);
  });
  return widget;
}

/** The form under a widget: the reasons of the chosen verdict, a comment, save and cancel. */
function openForm(widget, useful, user) {
  widget.parentElement.querySelector(".rating-form")?.remove();
  const mine = widget.mine && widget.mine.useful === useful ? widget.mine : null;
  const select = h("select", { name: "reason", "aria-label": "Reason" }, h("option", { value: "", text: "— a reason (optional) —" }));
  for (const reason of reasons.filter((r) => r.useful === null || r.useful === useful)) {
    const option = h("option", { value: reason.code, text: reason.label });
    option.selected = mine?.reason === reason.code;
    select.append(option);
  }
  const comment = h("input", { type: "text", name: "comment", maxlength: 1000, placeholder: "Comment (optional)", "aria-label": "Comment" });
  comment.value = mine?.comment ?? "";
  const error = h("span", { class: "rating-error", role: "alert" });
  const form = h(
    "form",
    { class: "rating-form", "data-useful": String(useful) },
    h("strong", { text: useful ? "Useful" : "Not useful" }),
    select,
    comment,
    h("button", { type: "submit", class: "rating-save", text: "Save" }),
    h("button", { type: "button", class: "rating-cancel secondary outline", text: "Cancel" }),
    error,
  );
  form.querySelector(".rating-cancel").addEventListener("click", () => form.remove());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    form.querySelector(".rating-save").disabled = true;
    const { kind, id } = widget.dataset;
    try {
      await postJSON(rateUrl(kind, id), { useful, reason: select.value, comment: comment.value });
      const summary = await fetchJSON(withParams(SUMMARY_URL, { [kind]: id }));
      fill(widget, (kind === "group" ? summary.groups : summary.events)[0], user);
      form.remove();
    } catch (err) {
      error.textContent = err.message;
      form.querySelector(".rating-save").disabled = false;
    }
  });
  widget.after(form);
  select.focus();
}

/** The link to every rating as CSV, after the filters, for a logged-in user. */
function offerCsv(user) {
  if (!user || document.getElementById("ratings-csv")) return;
  const link = h("a", { id: "ratings-csv", class: "ratings-csv", href: CSV_URL, download: "event-ratings.csv", text: "Download all ratings (CSV)" });
  document.getElementById("events-filters")?.after(h("p", { class: "ratings-export" }, link));
}

/** Adds rating widgets to the groups and events under `root` that have none; one request. */
export async function attachRatings(root) {
  const groups = [...root.querySelectorAll("li.event-group[data-group-id]")].filter(
    (li) => !li.querySelector(":scope > header > .rating"),
  );
  const rows = [...root.querySelectorAll("tr.event[data-event-id]")].filter((tr) => !tr.querySelector(".rating"));
  if (!groups.length && !rows.length) {
    document.body.dataset.ratingsReady = "true";
    return;
  }
  delete document.body.dataset.ratingsReady;
  const eventIds = [...new Set(rows.map((tr) => tr.dataset.eventId))];
  const groupIds = [...new Set(groups.map((li) => li.dataset.groupId))];
  const url = new URL(SUMMARY_URL, window.location.href);
  for (const id of eventIds) url.searchParams.append("event", id);
  for (const id of groupIds) url.searchParams.append("group", id);
  let summary;
  try {
    summary = await fetchJSON(url.pathname + url.search);
  } catch {
    // The dashboard stands without its ratings.
    return;
  }
  reasons = summary.reasons;
  const byEvent = new Map(summary.events.map((c) => [String(c.id), c]));
  const byGroup = new Map(summary.groups.map((c) => [String(c.id), c]));
  for (const li of groups) {
    if (li.querySelector(":scope > header > .rating")) continue;
    li.querySelector(":scope > header")?.append(makeWidget("group", li.dataset.groupId, byGroup.get(li.dataset.groupId), summary.user));
  }
  for (const table of new Set(rows.map((tr) => tr.closest("table")))) {
    const head = table?.querySelector("thead tr");
    if (head && !head.querySelector(".rating-head")) head.append(h("th", { class: "rating-head", text: "Rating" }));
  }
  for (const tr of rows) {
    if (tr.querySelector(".rating")) continue;
    tr.append(h("td", { class: "rating-cell" }, makeWidget("event", tr.dataset.eventId, byEvent.get(tr.dataset.eventId), summary.user)));
  }
  offerCsv(summary.user);
  document.body.dataset.ratingsReady = "true";
}
