// The pages fetch through lib/api.js's helpers: one place that sends the CSRF
// token, reads the API's {"error": ...} text and says when the server could not
// be reached. Review found paths.js with copies of its own that had drifted
// (no ApiError, no null parameters, "the server answered 500" where the others
// say more); this keeps any module from defining them again.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../ampweb/static/js/", import.meta.url));
const shared = ["withParams", "fetchJSON", "postJSON", "deleteJSON"];

function modules(directory) {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return modules(path);
    return entry.name.endsWith(".js") ? [path] : [];
  });
}

test("only lib/api.js defines the fetching helpers", () => {
  const found = [];
  for (const path of modules(root)) {
    const name = relative(root, path);
    if (name === join("lib", "api.js")) continue;
    const source = readFileSync(path, "utf8");
    for (const helper of shared) {
      const definition = new RegExp(`(function\\s+${helper}\\s*\\(|(const|let|var)\\s+${helper}\\s*=)`);
      if (definition.test(source)) found.push(`${name}: ${helper}`);
    }
  }
  assert.deepEqual(found, []);
});

test("lib/api.js exports them", async () => {
  const api = readFileSync(join(root, "lib", "api.js"), "utf8");
  for (const helper of shared) assert.match(api, new RegExp(`export (async )?function ${helper}\\(`));
});
