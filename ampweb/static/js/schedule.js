// The schedule table of a site or mesh admin page and its add/edit dialog:
// the test, its arguments (with the test's options listed), how often, over
// which period and window, the gap between mesh members, the destinations and
// whether it is enabled. Saving posts to (or puts on) the schedule API; the
// API checks everything, the arguments against the test's options too, and
// its message is shown in the dialog. Enable/Disable and Delete in the table
// call the API and reload the page.
//
// The markup is templates/_schedule.jinja2; its page data is #schedule-data.

import { deleteJSON, fetchJSON } from "./lib/api.js";
import { h } from "./lib/dom.js";
import { saveAndReload, showMessage, wireFormDialog } from "./lib/form-dialog.js";
import { splitFrequency, windowFields, windowSeconds } from "./lib/schedule-times.js";

const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

const dataNode = document.getElementById("schedule-data");
const data = dataNode ? JSON.parse(dataNode.textContent) : null;
const dialog = document.getElementById("schedule-dialog");
const form = dialog && dialog.querySelector(".schedule-form");
const tests = data ? Object.fromEntries(data.tests.map((test) => [test.name, test])) : {};

/** The item being edited, or null when adding. */
let editing = null;

function field(name) {
  return form.elements.namedItem(name);
}

function showError(message) {
  showMessage(dialog.querySelector(".dialog-error"), message);
}

function tableError(message) {
  showMessage(document.querySelector(".schedule-error"), message);
}

function words(text) {
  return text.split(/[\s,]+/).filter(Boolean);
}

// ---------------------------------------------------------------- the form

function fillTests() {
  const select = field("test");
  select.replaceChildren(...data.tests.map((test) => h("option", { value: test.name, text: test.title })));
  for (const name of ["start_day", "end_day"]) {
    field(name).replaceChildren(...WEEKDAYS.map((day, i) => h("option", { value: String(i), text: day })));
  }
}

/** The option list and destination fields that go with the chosen test. */
function showTest() {
  const test = tests[field("test").value];
  const rows = test.options.map((option) => {
    const value = { flag: "", integer: " <number>", text: " <text>" }[option.kind] ?? "[=<address>]";
    const spelled = `-${option.short}, --${option.long}${value}`;
    const required = test.required.includes(option.long) ? " (required)" : "";
    return h("tr", {}, h("td", {}, h("code", { text: spelled })), h("td", { text: option.description + required }));
  });
  dialog.querySelector(".schedule-option-list tbody").replaceChildren(...rows);
  dialog.querySelector(".schedule-destinations").hidden = !test.has_targets;
  dialog.querySelector(".schedule-no-targets").hidden = test.has_targets;
  field("args").placeholder = test.required.length ? `--${test.required[0]} …` : "defaults";
}

function showWindow() {
  const continuous = field("continuous").checked;
  const weekly = field("period").value === "week";
  dialog.querySelector(".schedule-window").hidden = continuous;
  for (const select of dialog.querySelectorAll(".schedule-weekday")) select.hidden = !weekly;
}

/** Fills the form from `item` (or with a new item's defaults). */
function load(item) {
  const values = item || {
    test: data.tests[0].name,
    args: "",
    frequency: 300,
    period: "day",
    start: 0,
    end: 86400,
    mesh_offset: 0,
    enabled: true,
    destination_sites: [],
    destination_meshes: [],
  };
  field("test").value = values.test;
  field("args").value = values.args;
  const { count, unit } = splitFrequency(values.frequency);
  field("frequency_unit").value = String(unit);
  field("frequency_count").value = String(count);
  field("period").value = values.period;
  const times = windowFields(values);
  field("continuous").checked = times.continuous;
  field("start_day").value = String(times.startDay);
  field("start_time").value = times.startTime;
  field("end_day").value = String(times.endDay);
  field("end_time").value = times.endTime;
  if (field("mesh_offset")) field("mesh_offset").value = String(values.mesh_offset);
  field("destination_sites").value = values.destination_sites.join(" ");
  field("destination_meshes").value = values.destination_meshes.join(" ");
  field("enabled").checked = values.enabled;
  showTest();
  showWindow();
}

/** The API body the form describes. */
function body() {
  const test = tests[field("test").value];
  const period = field("period").value;
  const { start, end } = windowSeconds({
    period,
    continuous: field("continuous").checked,
    startDay: field("start_day").value,
    startTime: field("start_time").value,
    endDay: field("end_day").value,
    endTime: field("end_time").value,
  });
  const result = {
    test: test.name,
    args: field("args").value.trim(),
    frequency: Math.round(Number(field("frequency_count").value) * Number(field("frequency_unit").value)),
    period,
    start,
    end,
    enabled: field("enabled").checked,
    destination_sites: test.has_targets ? words(field("destination_sites").value) : [],
    destination_meshes: test.has_targets ? words(field("destination_meshes").value) : [],
  };
  if (field("mesh_offset")) result.mesh_offset = Math.round(Number(field("mesh_offset").value) || 0);
  return result;
}

// ---------------------------------------------------------------- actions

function save() {
  const url = editing ? `${data.api}/${editing.id}` : data.api;
  return saveAndReload(dialog, () => fetchJSON(url, { method: editing ? "PUT" : "POST", body: body() }));
}

function open(item) {
  editing = item;
  dialog.querySelector(".dialog-title").textContent = item
    ? `Edit the ${tests[item.test].title} test`
    : `Add a test to ${data.owner}`;
  showError(null);
  load(item);
  dialog.querySelector('[data-action="save"]').disabled = false;
  if (!dialog.open) dialog.showModal();
  field("test").focus();
}

async function act(url, options, failure) {
  tableError(null);
  try {
    if (options.method === "DELETE") await deleteJSON(url);
    else await fetchJSON(url, options);
    window.location.reload();
  } catch (err) {
    tableError(`${failure}: ${err.message}`);
  }
}

function wire() {
  fillTests();
  field("test").addEventListener("change", showTest);
  field("period").addEventListener("change", showWindow);
  field("continuous").addEventListener("change", showWindow);
  wireFormDialog(dialog, form, save);
  document.querySelector("[data-schedule-add]").addEventListener("click", () => open(null));
  for (const button of document.querySelectorAll("[data-schedule-edit]")) {
    button.addEventListener("click", () => open(data.items[button.dataset.scheduleEdit]));
  }
  for (const button of document.querySelectorAll("[data-schedule-enable]")) {
    const id = button.dataset.scheduleEnable;
    const enabled = button.dataset.enabled === "true";
    button.addEventListener("click", () =>
      act(`${data.api}/${id}/status`, { method: "PUT", body: { enabled } }, "Could not change the test"),
    );
  }
  for (const button of document.querySelectorAll("[data-schedule-delete]")) {
    const id = button.dataset.scheduleDelete;
    button.addEventListener("click", () => {
      if (!window.confirm(`Delete the ${tests[data.items[id].test].title} test?`)) return;
      act(`${data.api}/${id}`, { method: "DELETE" }, "Could not delete the test");
    });
  }
}

if (data && dialog) wire();
