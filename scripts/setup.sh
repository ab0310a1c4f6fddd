#!/usr/bin/env bash
# Installs mlfn-keras and everything its tests, exports and demo use (CPU).
# Idempotent; used by README's first command and by CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
PIP="$PY -m pip --disable-pip-version-check"
# torch is optional for users (weight conversion, parity tests, benchmark peer);
# 2.13.0 resolves to a CPU wheel here, where other versions pull GBs of CUDA.
$PIP install --quiet "torch==2.13.0"
# One OpenCV: the dependency tree (trackers, trackeval, the SSDLite wheel and
# this package) declares opencv-python. An older set-up installed
# opencv-python-headless, which writes the same cv2/ folder: remove it and
# restore opencv-python's files.
if $PIP show --quiet opencv-python-headless >/dev/null 2>&1; then
    $PIP uninstall --quiet --yes opencv-python-headless
    $PIP install --quiet --force-reinstall --no-deps "opencv-python>=4.11.0.86"
fi
# Everything the code imports is declared in pyproject.toml ([dev] = export,
# demo, tfds, test), so pip resolves one consistent set.
$PIP install --quiet -e ".[dev]"
# torchreid is the reference the parity tests compare against; it is not a
# dependency of the product and declares no requirements of its own.
$PIP install --quiet --no-deps "torchreid==0.2.5"
# The multi-box mode (mlfn-edge / mlfn-central) and its tests need Debian's
# redis-server >= 7.0; installed here when this runs as root with apt.
if ! command -v redis-server >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        (apt-get update -qq && apt-get install -y -qq redis-server) || echo "note: redis-server could not be installed"
    else
        echo "note: install redis-server (>= 7.0) for the multi-box mode: sudo apt-get install -y redis-server"
    fi
fi
