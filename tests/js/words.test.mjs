// The pages' counted nouns and articles (lib/words.js) give the text ampy.words gives:
// tests/unit/test_words.py checks the Python side over the same cases.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import * as words from "../../ampweb/static/js/lib/words.js";

const { js_names: jsNames, cases } = JSON.parse(readFileSync(new URL("../data/words_cases.json", import.meta.url)));

for (const [name, args, expected] of cases) {
  test(`${name}(${JSON.stringify(args).slice(1, -1)})`, () => {
    assert.equal(words[jsNames[name] ?? name](...args), expected);
  });
}
