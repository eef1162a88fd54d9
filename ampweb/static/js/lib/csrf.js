// The CSRF token of the page, for requests that change state. The server puts
// it in <meta name="csrf-token" content="...">; a page without the tag sends
// no token (the header is left out rather than sent empty).

/** `{"X-CSRF-Token": token}`, or `{}` when the page carries no token. */
export function csrfHeaders() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const token = meta ? meta.getAttribute("content") : null;
  return token ? { "X-CSRF-Token": token } : {};
}
