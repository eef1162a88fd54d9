// The add-series dialog: a tab per collection of the view style (ICMP, DNS,
// TCP ping for latency), one dropdown per level of the collection's selection
// hierarchy, each filled from the options API once the level before it is
// chosen, then how to split the series into lines. Each dropdown is a Tom
// Select that loads 30 options at a time as it is scrolled (virtual_scroll)
// and asks the API again as the user types. Every tab remembers its choices.
// "Add" stores the view with the new group and opens it.
//
// The dialog element is templates/_add_series_dialog.jinja2.

import { fetchJSON, postJSON } from "./lib/api.js";
import { h } from "./lib/dom.js";
import { showMessage } from "./lib/form-dialog.js";
import TomSelect from "./lib/tomselect.js";
import { sentenceCase, withArticle } from "./lib/words.js";

const PAGESIZE = 30;
const SPLIT_TITLES = { FAMILY: "Address family", DIRECTION: "Direction" };
const CHOICE_TITLES = {
  SPLIT: "one line for each",
  ALL: "one line for all together",
  ipv4: "IPv4 only",
  ipv6: "IPv6 only",
  in: "in only",
  out: "out only",
};

const dialog = document.getElementById("add-series");
const el = dialog && {
  title: dialog.querySelector(".dialog-title"),
  tabs: dialog.querySelector(".dialog-tabs"),
  levels: dialog.querySelector(".dialog-levels"),
  splits: dialog.querySelector(".dialog-splits"),
  error: dialog.querySelector(".dialog-error"),
  add: dialog.querySelector('[data-action="add"]'),
};

/** What the open dialog is for, and the choices of each tab (by collection). */
const state = {
  style: null,
  viewId: null,
  range: null,
  collections: [],
  active: null,
  memory: new Map(),
  selects: [],
  splitChoices: null, // [{keyword, choices}] once every level is chosen
  generation: 0, // bumped on every re-render, so late answers for an old tab are dropped
};

function optionsUrl(collection, selected, term = "", page = 1) {
  const url = new URL(`/api/v1/collections/${encodeURIComponent(collection)}/options`, window.location.href);
  for (const value of selected) url.searchParams.append("selected", value);
  if (term) url.searchParams.set("term", term);
  url.searchParams.set("page", String(page));
  url.searchParams.set("pagesize", String(PAGESIZE));
  return url.pathname + url.search;
}

function memoryOf(collection) {
  if (!state.memory.has(collection)) state.memory.set(collection, { values: [], splits: {} });
  return state.memory.get(collection);
}

function showError(message) {
  showMessage(el.error, message);
}

// ---------------------------------------------------------------- tabs

function renderTabs() {
  el.tabs.replaceChildren();
  el.tabs.hidden = state.collections.length < 2;
  for (const info of state.collections) {
    const tab = h("button", {
      type: "button",
      role: "tab",
      class: "dialog-tab",
      "data-collection": info.collection,
      text: info.title,
      "aria-selected": String(info.collection === state.active.collection),
    });
    tab.addEventListener("click", () => {
      if (info.collection === state.active.collection) return;
      state.active = info;
      renderTabs();
      renderLevels();
    });
    el.tabs.append(tab);
  }
}

// ---------------------------------------------------------------- levels

function destroySelects() {
  for (const select of state.selects) select?.destroy();
  state.selects = [];
}

/** One row per level of the active collection; chosen levels keep their values. */
function renderLevels() {
  state.generation += 1;
  destroySelects();
  el.levels.replaceChildren();
  el.splits.replaceChildren();
  state.splitChoices = null;
  showError(null);
  const info = state.active;
  const memory = memoryOf(info.collection);
  info.levels.forEach((level, k) => {
    const id = `level-${info.collection}-${level.property}`;
    const label = h("label", { for: id, text: level.label });
    const select = h("select", { id, name: level.property });
    const row = h("div", { class: "dialog-level", "data-level": level.property }, label, select);
    el.levels.append(row);
    state.selects.push(makeSelect(select, info, k, memory.values[k]));
  });
  updateAdd();
  // Ask where the remembered choices lead: the next level to open, or the splits.
  advance(memory.values.slice());
}

function makeSelect(select, info, k, value) {
  const level = info.levels[k];
  const prefix = () => memoryOf(info.collection).values.slice(0, k);
  const ts = new TomSelect(select, {
    valueField: "value",
    labelField: "label",
    searchField: ["label"],
    plugins: ["virtual_scroll"],
    maxOptions: null,
    preload: "focus",
    placeholder: `Choose ${level.label.toLowerCase()}…`,
    // The API filters and pages; every option it sends is kept, in its order.
    shouldLoad: () => true,
    score: () => () => 1,
    firstUrl: (query) => optionsUrl(info.collection, prefix(), query, 1),
    load(query, callback) {
      const url = this.getUrl(query);
      fetchJSON(url)
        .then((answer) => {
          if (answer.property !== level.property) {
            callback([]);
            return;
          }
          if (answer.has_more) this.setNextUrl(query, optionsUrl(info.collection, prefix(), query, answer.page + 1));
          callback(answer.items);
        })
        .catch((err) => {
          showError(err.message);
          callback();
        });
    },
    render: {
      loading_more: () => '<div class="loading-more">Loading more…</div>',
      no_more_results: () => '<div class="no-more-results">No more options</div>',
      no_results: () => '<div class="no-results">Nothing matches</div>',
    },
    onChange: (chosen) => {
      if (!chosen) return;
      choose(info, k, chosen);
    },
  });
  if (value != null) {
    ts.addOption({ value, label: value });
    ts.setValue(value, true);
  } else {
    ts.disable();
  }
  ts.wrapper.dataset.level = level.property;
  return ts;
}

/** The user chose `value` at level k: later levels are forgotten until the API answers. */
function choose(info, k, value) {
  const memory = memoryOf(info.collection);
  memory.values = [...memory.values.slice(0, k), value];
  for (let j = k + 1; j < state.selects.length; j++) resetSelect(info, j, null, false);
  advance(memory.values.slice());
}

/**
 * A fresh dropdown for level j (a Tom Select loads its first page once, on
 * focus, so a level whose earlier choices changed needs a new one).
 */
function resetSelect(info, j, value, enabled) {
  const old = state.selects[j];
  const select = old.input;
  old.destroy();
  select.replaceChildren();
  const ts = makeSelect(select, info, j, value);
  if (enabled) ts.enable();
  else ts.disable();
  state.selects[j] = ts;
  return ts;
}
/**
 * Asks the API about the choices so far: levels with a single value come
 * back chosen; the next open level is enabled, or, when all are chosen, the
 * split dropdowns appear.
 */
async function advance(values) {
  const info = state.active;
  const generation = state.generation;
  el.splits.replaceChildren();
  state.splitChoices = null;
  updateAdd();
  let answer;
  try {
    answer = await fetchJSON(optionsUrl(info.collection, values, "", 1));
  } catch (err) {
    if (generation === state.generation) showError(err.message);
    return;
  }
  if (generation !== state.generation || info !== state.active) return;
  showError(null);
  const memory = memoryOf(info.collection);
  memory.values = answer.selected.slice();
  // Levels the API chose because they had one value: shown, fixed.
  answer.selected.forEach((value, j) => {
    if (j < values.length || !state.selects[j]) return;
    resetSelect(info, j, value, false).wrapper.title = "The only choice";
  });
  if (answer.property !== null) {
    const j = answer.selected.length;
    if (state.selects[j]) resetSelect(info, j, null, true);
    return;
  }
  state.splitChoices = answer.splits || [];
  renderSplits(memory);
  updateAdd();
}

function renderSplits(memory) {
  el.splits.replaceChildren();
  for (const split of state.splitChoices) {
    const id = `split-${split.keyword}`;
    const label = h("label", { for: id, text: SPLIT_TITLES[split.keyword] || split.keyword.toLowerCase() });
    const select = h(
      "select",
      { id },
      ...split.choices.map((choice) => h("option", { value: choice, text: CHOICE_TITLES[choice] || `${choice} only` })),
    );
    select.value = memory.splits[split.keyword] || split.choices[0];
    select.addEventListener("change", () => {
      memory.splits[split.keyword] = select.value;
    });
    el.splits.append(h("div", { class: "dialog-level dialog-split", "data-split": split.keyword }, label, select));
  }
}

function updateAdd() {
  el.add.disabled = state.splitChoices === null;
}

// ---------------------------------------------------------------- adding

async function add() {
  const info = state.active;
  const memory = memoryOf(info.collection);
  const values = Object.fromEntries(info.levels.map((level, k) => [level.property, memory.values[k]]));
  const splits = {};
  for (const split of state.splitChoices || []) {
    splits[split.keyword] = memory.splits[split.keyword] || split.choices[0];
  }
  const group = { collection: info.collection, values, splits };
  const body = state.viewId ? { view_id: state.viewId, add: group } : { style: state.style, groups: [group] };
  el.add.disabled = true;
  el.add.setAttribute("aria-busy", "true");
  try {
    const answer = await postJSON("/api/v1/views", body);
    const range = state.range ? `/${state.range[0]}/${state.range[1]}` : "";
    window.location.assign(`/view/${encodeURIComponent(state.style)}/${encodeURIComponent(answer.view_id)}${range}`);
  } catch (err) {
    showError(err.message);
    el.add.disabled = false;
  } finally {
    el.add.removeAttribute("aria-busy");
  }
}

// ---------------------------------------------------------------- opening and closing

function close() {
  destroySelects();
  dialog.close();
}

let wired = false;

function wire() {
  if (wired) return;
  wired = true;
  for (const button of dialog.querySelectorAll('[data-action="close"]')) button.addEventListener("click", close);
  el.add.addEventListener("click", add);
  dialog.addEventListener("close", destroySelects);
  // A click on the backdrop (outside the article) closes the dialog.
  dialog.addEventListener("click", (e) => {
    if (e.target === dialog) close();
  });
}

/**
 * Opens the dialog to add a series to view `viewId` of `style` (or, without
 * a view, to start one). `styles` is the page data's styles table; `range`
 * the time range the new view opens on (or null for its default).
 */
export function openDialog({ style, viewId = null, styles, range = null }) {
  if (!dialog) return;
  wire();
  const info = styles[style];
  if (!info || !info.collections.length) return;
  if (state.style !== style) state.memory = new Map();
  state.style = style;
  state.viewId = viewId;
  state.range = range ? [...range] : null;
  state.collections = info.collections;
  if (!state.active || !state.collections.includes(state.active)) state.active = state.collections[0];
  el.title.textContent = `Add ${withArticle(sentenceCase(info.title))} series`;
  dialog.dataset.style = style;
  renderTabs();
  renderLevels();
  if (!dialog.open) dialog.showModal();
}

// Links and buttons with data-add-series="<style>" (the index page) open the dialog.
for (const button of document.querySelectorAll("[data-add-series]")) {
  button.addEventListener("click", () => {
    const data = JSON.parse(document.getElementById("page-data").textContent);
    openDialog({ style: button.dataset.addSeries, styles: data.styles });
  });
}
