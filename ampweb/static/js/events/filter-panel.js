// The filter panel's saved filters: a logged-in user's named filters of the
// events dashboard (GET/POST /api/v1/event-filters, PUT/DELETE .../{id}).
// Loading one goes to the dashboard with its query string, so a loaded
// filter is a URL like any other; saving stores the filter this page shows
// (the one in its URL). Anonymous visitors keep their filters in URLs only.

import { deleteJSON, fetchJSON } from "../lib/api.js";
import { h } from "../lib/dom.js";

export class SavedFilters {
  /** `root` is the #events-saved element, whose data attributes name the API and the page. */
  constructor(root) {
    this.root = root;
    this.api = root.dataset.api;
    this.page = root.dataset.page;
    this.query = root.dataset.query || "";
    this.filter = JSON.parse(root.dataset.filter || "{}");
    this.saved = [];
  }

  start() {
    if (this.root.dataset.loggedIn !== "true") {
      this.root.replaceChildren(
        h(
          "p",
          { class: "events-saved-note" },
          h("a", { href: this.root.dataset.login, text: "Log in" }),
          " to save filters by name. This view's address keeps its filter: share it as it is.",
        ),
      );
      this.root.dataset.ready = "true";
      return;
    }
    this.list = h("select", { id: "saved-filter-list", "aria-label": "Saved filters" });
    this.load = h("button", { type: "button", id: "saved-filter-load", class: "secondary", text: "Load" });
    this.remove = h("button", {
      type: "button",
      id: "saved-filter-delete",
      class: "secondary outline",
      text: "Delete",
    });
    this.name = h("input", {
      type: "text",
      id: "saved-filter-name",
      name: "filter-name",
      maxlength: 255,
      placeholder: "Name this view's filter",
      "aria-label": "Filter name",
      autocomplete: "off",
    });
    this.save = h("button", { type: "submit", id: "saved-filter-save", text: "Save" });
    this.status = h("small", { class: "events-saved-status", role: "status", id: "saved-filter-status" });
    const form = h("form", { class: "events-saved-form", id: "saved-filter-form" }, this.name, this.save);
    this.root.replaceChildren(
      h("strong", { class: "events-saved-title", text: "Your saved filters" }),
      h("div", { class: "events-saved-row" },
        h("div", { role: "group", class: "events-saved-pick" }, this.list, this.load, this.remove),
        form,
      ),
      this.status,
    );
    this.load.addEventListener("click", () => this.loadSelected());
    this.remove.addEventListener("click", () => this.deleteSelected());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.saveCurrent();
    });
    this.refresh().finally(() => {
      this.root.dataset.ready = "true";
    });
  }

  say(text, isError = false) {
    this.status.textContent = text;
    this.status.classList.toggle("is-error", isError);
  }

  async refresh(selectId = null) {
    try {
      this.saved = (await fetchJSON(this.api)).items;
    } catch (err) {
      this.say(`Could not read your saved filters: ${err.message}`, true);
      return;
    }
    const current = this.saved.find((item) => item.id === selectId) ||
      this.saved.find((item) => item.query === this.query);
    const options = [h("option", { value: "", text: this.saved.length ? "Saved filters…" : "No saved filters yet" })];
    for (const item of this.saved) {
      options.push(h("option", { value: item.id, text: item.name, selected: current && item.id === current.id }));
    }
    this.list.replaceChildren(...options);
    if (current && !this.name.value) this.name.value = current.name;
    this.load.disabled = this.remove.disabled = !this.saved.length;
  }

  selected() {
    const id = Number(this.list.value);
    return this.saved.find((item) => item.id === id) || null;
  }

  loadSelected() {
    const item = this.selected();
    if (!item) return this.say("Choose a saved filter first.", true);
    if (item.query === null) return this.say(`"${item.name}" names something that no longer exists.`, true);
    window.location.assign(item.query ? `${this.page}?${item.query}` : this.page);
  }

  async deleteSelected() {
    const item = this.selected();
    if (!item) return this.say("Choose a saved filter first.", true);
    try {
      await deleteJSON(`${this.api}/${item.id}`);
    } catch (err) {
      return this.say(err.message, true);
    }
    if (this.name.value === item.name) this.name.value = "";
    await this.refresh();
    this.say(`Deleted "${item.name}".`);
  }

  async saveCurrent() {
    const name = this.name.value.trim();
    if (!name) return this.say("Give the filter a name.", true);
    // Saving under a name already taken replaces that filter.
    const existing = this.saved.find((item) => item.name === name);
    let saved;
    try {
      saved = existing
        ? await fetchJSON(`${this.api}/${existing.id}`, { method: "PUT", body: { filter: this.filter } })
        : await fetchJSON(this.api, { method: "POST", body: { name, filter: this.filter } });
    } catch (err) {
      return this.say(err.message, true);
    }
    await this.refresh(saved.id);
    this.say(existing ? `Updated "${saved.name}".` : `Saved "${saved.name}".`);
  }
}

/** The saved-filters part of the panel in `root` (#events-saved), if the page has one. */
export function initFilterPanel(root) {
  if (!root) return null;
  const panel = new SavedFilters(root);
  panel.start();
  return panel;
}
