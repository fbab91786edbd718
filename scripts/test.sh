#!/usr/bin/env bash
# The project's one test command (README quick start, .ci/run): runs the whole pytest suite.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pytest "$@"
