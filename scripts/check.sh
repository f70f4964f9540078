#!/usr/bin/env bash
# Set up .venv with the dev tools and run every check and the whole test suite.
source "$(dirname "$0")/_venv.sh"
ensure_venv dev
set -x
.venv/bin/ruff check src tests bench migrations
.venv/bin/lint-imports --config importlinter.cfg
.venv/bin/mypy
.venv/bin/pytest -q "$@"
