#!/usr/bin/env bash
# The web app's JavaScript: ESLint over ampweb/static/js and tests/js, then the
# modules' tests (tests/js/*.test.mjs) under node's built-in test runner. No
# build step: the pages load the same files.
#
# ESLint is a build tool pinned in package.json / package-lock.json; it is
# installed with `npm ci` into ./node_modules (git-ignored) when that is
# missing or older than the lock file. Without node the whole step is skipped,
# without npm only the lint, each with a message.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null; then
  echo "test-js: node is not installed: the JavaScript lint and tests are skipped"
  exit 0
fi

if command -v npm >/dev/null; then
  # npm ci leaves node_modules/.package-lock.json newer than the lock it installed.
  if [ ! node_modules/.package-lock.json -nt package-lock.json ]; then
    npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
  fi
  node_modules/.bin/eslint --max-warnings 0 .
  echo "test-js: eslint clean"
else
  echo "test-js: npm is not installed: the JavaScript lint is skipped"
fi

node --test --test-reporter=dot tests/js/*.test.mjs
echo "test-js: node tests passed ($(ls tests/js/*.test.mjs | wc -l) files)"
