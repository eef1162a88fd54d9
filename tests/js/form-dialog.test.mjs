// The pages' shared message box and form dialog (lib/form-dialog.js), on plain stand-ins for elements.
import assert from "node:assert/strict";
import { test } from "node:test";

import { saveAndReload, showMessage, wireFormDialog } from "../../ampweb/static/js/lib/form-dialog.js";

/** Just enough of an element: text, hidden, attributes, listeners, named children. */
class Element {
  constructor(children = {}) {
    this.textContent = "";
    this.hidden = true;
    this.disabled = false;
    this.attributes = new Map();
    this.listeners = new Map();
    this.children = children;
    this.closed = 0;
  }
  setAttribute(name, value) {
    this.attributes.set(name, value);
  }
  removeAttribute(name) {
    this.attributes.delete(name);
  }
  addEventListener(type, listener) {
    this.listeners.set(type, [...(this.listeners.get(type) || []), listener]);
  }
  dispatch(type, event = {}) {
    for (const listener of this.listeners.get(type) || []) listener({ preventDefault() {}, ...event });
  }
  querySelector(selector) {
    return this.children[selector];
  }
  querySelectorAll(selector) {
    return this.children[selector] || [];
  }
  close() {
    this.closed += 1;
  }
}

function formDialog() {
  const save = new Element();
  const error = new Element();
  const closers = [new Element(), new Element()];
  const dialog = new Element({
    '[data-action="save"]': save,
    ".dialog-error": error,
    '[data-action="close"]': closers,
  });
  return { dialog, save, error, closers };
}

test("a message box shows a message and hides when there is none", () => {
  const box = new Element();
  showMessage(box, "The URL is refused.");
  assert.deepEqual([box.textContent, box.hidden], ["The URL is refused.", false]);
  for (const none of [null, undefined, ""]) {
    showMessage(box, none);
    assert.deepEqual([box.textContent, box.hidden], ["", true]);
  }
});

test("saving reloads the page once the request is done, and clears an earlier error", async () => {
  const { dialog, save, error } = formDialog();
  showMessage(error, "an earlier error");
  let reloaded = 0;
  let busyWhileSending = null;
  await saveAndReload(
    dialog,
    async () => {
      busyWhileSending = [save.disabled, save.attributes.get("aria-busy"), error.hidden];
    },
    () => (reloaded += 1),
  );
  assert.deepEqual(busyWhileSending, [true, "true", true]);
  assert.equal(reloaded, 1);
  assert.equal(save.attributes.has("aria-busy"), false);
});

test("a failed save shows the API's message and lets the user try again", async () => {
  const { dialog, save, error } = formDialog();
  let reloaded = 0;
  await saveAndReload(
    dialog,
    async () => {
      throw new Error("addresses: not an e-mail address");
    },
    () => (reloaded += 1),
  );
  assert.equal(reloaded, 0);
  assert.deepEqual([error.textContent, error.hidden], ["addresses: not an e-mail address", false]);
  assert.equal(save.disabled, false);
  assert.equal(save.attributes.has("aria-busy"), false);
});

test("the dialog's buttons, Enter and a click outside are wired", () => {
  const { dialog, save, closers } = formDialog();
  const form = new Element();
  let saved = 0;
  wireFormDialog(dialog, form, () => (saved += 1));
  save.dispatch("click");
  let prevented = false;
  form.dispatch("submit", { preventDefault: () => (prevented = true) });
  assert.equal(saved, 2);
  assert.equal(prevented, true);
  closers[1].dispatch("click");
  dialog.dispatch("click", { target: dialog });
  dialog.dispatch("click", { target: save }); // inside the dialog: stays open
  assert.equal(dialog.closed, 2);
});
