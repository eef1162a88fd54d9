// What the pages' message boxes and edit dialogs share: a box that shows a
// message or hides when there is none, a dialog's "Save" that sends and then
// reloads the page (or shows the API's error and lets the user try again),
// and the dialog's wiring (close buttons, Save, Enter, a click outside).
// Used by the notifications page, the schedule tables, the add-series dialog
// and the paths page.

/** Shows `message` in `box`, or empties and hides the box when `message` is empty. */
export function showMessage(box, message) {
  box.textContent = message || "";
  box.hidden = !message;
}

/**
 * "Save" of a form dialog: clears the dialog's `.dialog-error`, marks its save
 * button busy, awaits `send()` and reloads the page; if `send` throws, shows
 * its message in the dialog and enables the button again. `reload` is for tests.
 */
export async function saveAndReload(dialog, send, reload = () => window.location.reload()) {
  const button = dialog.querySelector('[data-action="save"]');
  const error = dialog.querySelector(".dialog-error");
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  showMessage(error, null);
  try {
    await send();
    reload();
  } catch (err) {
    showMessage(error, err.message);
    button.disabled = false;
  } finally {
    button.removeAttribute("aria-busy");
  }
}

/** Wires a form dialog: its close buttons and a click outside close it, Save and Enter call `save`. */
export function wireFormDialog(dialog, form, save) {
  for (const button of dialog.querySelectorAll('[data-action="close"]')) {
    button.addEventListener("click", () => dialog.close());
  }
  dialog.querySelector('[data-action="save"]').addEventListener("click", save);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    save();
  });
  dialog.addEventListener("click", (e) => {
    if (e.target === dialog) dialog.close();
  });
}
