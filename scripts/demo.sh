#!/usr/bin/env bash
# Set up .venv and run the demo backtest on the bundled sample data (extra args go to backtest).
source "$(dirname "$0")/_venv.sh"
ensure_venv
exec .venv/bin/aitrader backtest "$@"
