#!/usr/bin/env bash
# Regenerate requirements/test.lock from pyproject.toml: the exact version of every package
# `pip install '.[test]'` and `pip install '.[kubectl]'` bring in, dependencies of dependencies included.
#   scripts/lock.sh             keep the versions already locked; resolve only what pyproject.toml changed
#   scripts/lock.sh --upgrade   move every package to the newest version pyproject.toml allows
# Then run the tests with the new lock and commit it.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-lock
.venv-lock/bin/pip install --quiet pip-tools
# No index URLs, find-links or local paths in the lock: it must install on any machine.
CUSTOM_COMPILE_COMMAND="scripts/lock.sh" .venv-lock/bin/pip-compile --quiet --strip-extras \
    --no-emit-index-url --no-emit-find-links --no-emit-trusted-host \
    --extra test --extra kubectl --output-file requirements/test.lock "$@" pyproject.toml
echo "wrote requirements/test.lock"
