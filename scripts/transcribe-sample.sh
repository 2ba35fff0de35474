#!/usr/bin/env bash
# Set up .venv (see setup.sh) and transcribe the bundled sample page with the bundled default model.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/vitocr transcribe ocr/samples/sample-page.png "$@"
