// The notifications page's edit dialog: "Edit" on a channel's row opens the
// dialog (templates/admin_notifications.jinja2, the "New channel" form's own
// fields) filled from the channel, and "Save" PUTs the changed fields to
// /api/v1/notification-channels/{id}, then reloads the page. A channel's kind
// cannot change; an empty secret keeps the one set, "Remove the secret"
// clears it. The API's error (a bad address, a URL refused) shows in the
// dialog, which stays open.

import { fetchJSON } from "./lib/api.js";
import { channelChanges } from "./lib/channel-form.js";
import { saveAndReload, showMessage, wireFormDialog } from "./lib/form-dialog.js";

const API = "/api/v1/notification-channels";
const dialog = document.getElementById("channel-dialog");
const form = dialog?.querySelector(".channel-form");
let editing = null;

function field(name) {
  return form.elements.namedItem(name);
}

function showError(message) {
  showMessage(dialog.querySelector(".dialog-error"), message);
}

/** The dialog's values, as channelChanges takes them. */
function values() {
  return {
    name: field("name").value,
    addresses: field("addresses").value,
    url: field("url").value,
    secret: field("secret").value,
    unsign: field("unsign").checked,
    body_format: field("body_format").value,
    rate_limit: field("rate_limit").value,
    rate_period: field("rate_period").value,
    enabled: field("enabled").checked,
  };
}

function open(channel) {
  editing = channel;
  dialog.querySelector(".dialog-title").textContent = `Edit the channel ${channel.name}`;
  field("name").value = channel.name;
  field("kind").value = channel.kind;
  field("addresses").value = channel.addresses.join(", ");
  field("url").value = channel.url;
  field("secret").value = "";
  field("unsign").checked = false;
  field("body_format").value = channel.body_format;
  field("rate_limit").value = String(channel.rate_limit);
  field("rate_period").value = String(channel.rate_period);
  field("enabled").checked = channel.enabled;
  for (const part of dialog.querySelectorAll("[data-kind]")) {
    part.hidden = part.dataset.kind !== channel.kind;
  }
  // Removing the secret is offered only when there is one.
  field("unsign").closest("label").hidden = channel.kind !== "webhook" || !channel.signed;
  showError(null);
  dialog.querySelector('[data-action="save"]').disabled = false;
  if (!dialog.open) dialog.showModal();
  field("name").focus();
}

async function save() {
  let changes;
  try {
    changes = channelChanges(editing, values());
  } catch (err) {
    showError(err.message);
    return;
  }
  if (Object.keys(changes).length === 0) {
    dialog.close();
    return;
  }
  await saveAndReload(dialog, () => fetchJSON(`${API}/${editing.id}`, { method: "PUT", body: changes }));
}

function wire() {
  wireFormDialog(dialog, form, save);
  for (const button of document.querySelectorAll("[data-channel-edit]")) {
    button.addEventListener("click", () => open(JSON.parse(button.dataset.channelEdit)));
  }
}

if (dialog) wire();
