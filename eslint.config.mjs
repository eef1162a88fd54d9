// ESLint for the web app's modules (browser) and their tests (node): the
// recommended rules; the vendored libraries are not ours to lint.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["ampweb/static/vendor/", "node_modules/", ".venv/", "build/"] },
  js.configs.recommended,
  {
    files: ["ampweb/static/js/**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.browser },
  },
  {
    files: ["tests/js/**/*.mjs", "eslint.config.mjs"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.node },
  },
];
