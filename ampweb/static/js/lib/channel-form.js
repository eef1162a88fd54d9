// What the notifications page's edit dialog sends: only the fields changed
// from the channel as stored, as the channels API takes them (PUT changes the
// fields given). Pure, so that tests/js/channel-form.test.mjs runs it in node.

/** Addresses typed "a@x, b@y; c@z" (spaces, commas or semicolons) as a list. */
export function splitAddresses(text) {
  return String(text)
    .split(/[\s,;]+/)
    .filter((part) => part !== "");
}

function integer(name, text) {
  const value = Number(String(text).trim());
  if (!Number.isInteger(value)) throw new Error(`${name}: must be an integer`);
  return value;
}

/**
 * The PUT body turning `channel` (as the API answers it) into the dialog's
 * `values` ({name, addresses, url, secret, unsign, body_format, rate_limit,
 * rate_period, enabled}, as typed): only what differs. An empty secret keeps
 * the one set; `unsign` clears it. Throws Error for a number that is not one.
 */
export function channelChanges(channel, values) {
  const changes = {};
  const name = values.name.trim();
  if (name !== channel.name) changes.name = name;
  if (channel.kind === "email") {
    const addresses = splitAddresses(values.addresses);
    if (addresses.join(" ") !== channel.addresses.join(" ")) changes.addresses = addresses;
  } else {
    const url = values.url.trim();
    if (url !== channel.url) changes.url = url;
    if (values.secret !== "") changes.secret = values.secret;
    else if (values.unsign && channel.signed) changes.secret = "";
    if (values.body_format !== channel.body_format) changes.body_format = values.body_format;
  }
  const rateLimit = integer("rate_limit", values.rate_limit);
  if (rateLimit !== channel.rate_limit) changes.rate_limit = rateLimit;
  const ratePeriod = integer("rate_period", values.rate_period);
  if (ratePeriod !== channel.rate_period) changes.rate_period = ratePeriod;
  if (values.enabled !== channel.enabled) changes.enabled = values.enabled;
  return changes;
}
