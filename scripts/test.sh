#!/usr/bin/env bash
# Set up .venv (see setup.sh) and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
.venv/bin/python -m pytest -q "$@"
