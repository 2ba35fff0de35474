#!/usr/bin/env bash
# Set up a virtual environment (CPU torch first, so pip never pulls a CUDA build) and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
pip install -q --upgrade pip
pip install -q torch==2.13.0
pip install -q -e ".[dev]"
python -m pytest -q "$@"
