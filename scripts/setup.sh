#!/usr/bin/env bash
# Create .venv with the CPU build of PyTorch first (so pip never pulls a CUDA build), then vitocr.
# Usage: scripts/setup.sh [extras]   e.g. scripts/setup.sh dev
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
. .venv/bin/activate
pip install -q --upgrade pip
pip install -q torch==2.13.0
pip install -q -e ".${1:+[$1]}"
