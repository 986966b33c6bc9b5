#!/usr/bin/env bash
# Regenerate requirements/test.lock: the exact version of every package `pip install '.[test]'` and
# `pip install '.[kubectl]'` bring in, resolved from pyproject.toml to the newest versions allowed.
# Run it after changing dependencies in pyproject.toml, then run the tests and commit the lock.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-lock
.venv-lock/bin/pip install --quiet pip-tools
# No index URLs, find-links or local paths in the lock: it must install on any machine.
CUSTOM_COMPILE_COMMAND="scripts/lock.sh" .venv-lock/bin/pip-compile --quiet --upgrade --strip-extras \
    --no-emit-index-url --no-emit-find-links --no-emit-trusted-host \
    --extra test --extra kubectl --output-file requirements/test.lock pyproject.toml
echo "wrote requirements/test.lock"
