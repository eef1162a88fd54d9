// The edit dialog of the notifications page sends only what changed (lib/channel-form.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { channelChanges, splitAddresses } from "../../ampweb/static/js/lib/channel-form.js";

const hook = {
  name: "hook",
  kind: "webhook",
  addresses: [],
  url: "https://chat.example.org/hooks/1",
  signed: true,
  body_format: "json",
  rate_limit: 10,
  rate_period: 3600,
  enabled: true,
};
const asTyped = {
  name: "hook",
  addresses: "",
  url: "https://chat.example.org/hooks/1",
  secret: "",
  unsign: false,
  body_format: "json",
  rate_limit: "10",
  rate_period: "3600",
  enabled: true,
};

test("nothing changed sends nothing, and an empty secret keeps the one set", () => {
  assert.deepEqual(channelChanges(hook, asTyped), {});
});

test("only the changed fields are sent, numbers as numbers", () => {
  const values = { ...asTyped, name: " ops ", rate_limit: "3", body_format: "slack", enabled: false };
  assert.deepEqual(channelChanges(hook, values), {
    name: "ops",
    body_format: "slack",
    rate_limit: 3,
    enabled: false,
  });
});

test("a new secret is sent; removing it sends an empty one", () => {
  assert.deepEqual(channelChanges(hook, { ...asTyped, secret: "k2" }), { secret: "k2" });
  assert.deepEqual(channelChanges(hook, { ...asTyped, unsign: true }), { secret: "" });
  assert.deepEqual(channelChanges({ ...hook, signed: false }, { ...asTyped, unsign: true }), {});
});

test("e-mail addresses are compared as lists", () => {
  const mail = { ...hook, kind: "email", url: "", addresses: ["a@example.org", "b@example.org"] };
  const same = { ...asTyped, url: "", addresses: "a@example.org, b@example.org" };
  assert.deepEqual(channelChanges(mail, same), {});
  assert.deepEqual(channelChanges(mail, { ...same, addresses: "a@example.org; c@example.org" }), {
    addresses: ["a@example.org", "c@example.org"],
  });
  assert.deepEqual(splitAddresses(" a@x.org ,b@y.org  c@z.org;"), ["a@x.org", "b@y.org", "c@z.org"]);
});

test("a rate that is not a whole number is refused before sending", () => {
  assert.throws(() => channelChanges(hook, { ...asTyped, rate_limit: "2.5" }), /rate_limit/);
});
