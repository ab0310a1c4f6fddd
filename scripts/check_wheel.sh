#!/usr/bin/env bash
# Packaging check (CI, before the tests): build the wheel, install it with the
# `demo` extra into a FRESH virtual environment, and run `mlfn demo` for a few
# frames on the built-in scene, scoring it (--evaluate), from outside the
# checkout, so that only what the wheel declares (code and shipped weights) is
# importable.
#
#   bash scripts/check_wheel.sh            # work folder: a new temporary one
#   WORK=/tmp/wheelcheck bash scripts/check_wheel.sh
#
# pip's cache is used (downloads are reused between runs); nothing else of the
# machine's Python environment is visible to the venv.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PY=${PYTHON:-python3}
WORK=${WORK:-$(mktemp -d -t mlfn-wheel-XXXXXX)}
mkdir -p "$WORK"
start=$(date +%s)

echo "[wheel] building into $WORK/dist"
$PY -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation -w "$WORK/dist" "$REPO"
WHEEL=$(ls "$WORK"/dist/mlfn_keras-*.whl)

echo "[wheel] fresh venv $WORK/venv; installing $(basename "$WHEEL")[demo]"
rm -rf "$WORK/venv"
$PY -m venv "$WORK/venv"
VPY="$WORK/venv/bin/python"
$VPY -m pip install --quiet --disable-pip-version-check "${WHEEL}[demo]"
$VPY -m pip check

# The installed command runs the demo (its weights ship inside the wheel); the
# demo script, copied out of the checkout, is an alias of it (its own folder goes
# first on sys.path, and it holds no mlfn_keras package).
rm -rf "$WORK/app" && mkdir -p "$WORK/app"
cp -r "$REPO/demo" "$WORK/app/demo"
cd "$WORK"
"$WORK/venv/bin/mlfn" --version
"$VPY" "$WORK/app/demo/multicam.py" --help >/dev/null
echo "[wheel] mlfn demo: 20 frames of the built-in scene with --evaluate"
"$WORK/venv/bin/mlfn" demo --no-show --max-frames 20 --output "$WORK/run" --evaluate
"$VPY" - "$WORK/run" <<'PY'
import json, sys
from pathlib import Path
import mlfn_keras
run = Path(sys.argv[1])
assert "site-packages" in mlfn_keras.__file__, f"mlfn_keras imported from {mlfn_keras.__file__}, not the wheel"
summary = json.loads((run / "summary.json").read_text())
page = (run / "report.html").read_text()  # the page assets ship in the wheel
assert '<script id="run-data"' in page and "renderGallery" in page, "report.html lacks its inline assets"
print(f"[wheel] demo wrote {sorted(p.name for p in run.iterdir())}")
PY
echo "[wheel] ok in $(( $(date +%s) - start )) s"
