#!/usr/bin/env bash
# Sets up mlfn-keras for use and development (CPU): a virtual environment with
# the package (editable) and everything its tests, exports, demo and docs use.
#
#   bash scripts/setup.sh                  # creates .venv/ with python3 (or reuses it)
#   PYTHON=python3.12 bash scripts/setup.sh
#
# Where it installs: .venv/ if it exists; else the active virtual environment
# ($VIRTUAL_ENV, or a conda environment other than base), which .venv then
# links to; else a new .venv/ made with $PYTHON (default python3). It never
# installs into a system Python (Debian/Ubuntu forbid that: PEP 668).
# Idempotent: run it again to update. Used by CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
say() { printf '\n==> %s\n' "$*"; }

# 1. The environment.
if [ -e .venv/bin/python ]; then
    say "using the virtual environment .venv/"
elif [ -n "${VIRTUAL_ENV:-}" ] || { [ -n "${CONDA_PREFIX:-}" ] && [ "${CONDA_DEFAULT_ENV:-base}" != "base" ]; }; then
    ENV_DIR=${VIRTUAL_ENV:-$CONDA_PREFIX}
    say "using the active environment $ENV_DIR (linked as .venv)"
    rm -f .venv && ln -s "$ENV_DIR" .venv
else
    PY=${PYTHON:-python3}
    if ! command -v "$PY" >/dev/null; then
        echo "error: $PY not found; install Python 3.10 or newer, or run with PYTHON=/path/to/python3" >&2
        exit 2
    fi
    if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
        echo "error: $PY is Python $("$PY" -c 'import platform; print(platform.python_version())'); expected 3.10 or newer (PYTHON=...)" >&2
        exit 2
    fi
    say "creating .venv/ with $PY ($("$PY" -c 'import sys; print(sys.executable, sys.version.split()[0])'))"
    if ! "$PY" -m venv .venv; then
        rm -rf .venv
        echo "error: '$PY -m venv' failed. On Debian/Ubuntu install the venv module first:" >&2
        echo "         sudo apt-get install -y python3-venv" >&2
        exit 2
    fi
fi
VPY=.venv/bin/python
PIP="$VPY -m pip --disable-pip-version-check"

# 2. torch is optional for users (weight conversion, parity tests, the benchmark
# peer); 2.13.0 resolves to a CPU wheel here, where other versions pull GBs of CUDA.
say "installing torch 2.13.0 (CPU)"
$PIP install "torch==2.13.0"

# One OpenCV: the dependency tree (trackers, trackeval, the SSDLite wheel and
# this package) declares opencv-python. An older set-up installed
# opencv-python-headless, which writes the same cv2/ folder: remove it and
# restore opencv-python's files.
if $PIP show --quiet opencv-python-headless >/dev/null 2>&1; then
    say "replacing opencv-python-headless by opencv-python"
    $PIP uninstall --yes opencv-python-headless
    $PIP install --force-reinstall --no-deps "opencv-python>=4.11.0.86"
fi

# 3. Everything the code imports is declared in pyproject.toml ([dev] = export,
# demo, tfds, test, docs), so pip resolves one consistent set (TensorFlow is the
# largest download: about 600 MB).
say "installing mlfn-keras (editable) with its export, demo, test and docs extras"
$PIP install -e ".[dev]"

# torchreid is the reference the parity tests compare against; it is not a
# dependency of the product and declares no requirements of its own.
say "installing torchreid 0.2.5 (test reference, --no-deps)"
$PIP install --no-deps "torchreid==0.2.5"

# 4. The multi-box mode (mlfn edge / mlfn central) and its tests need Debian's
# redis-server >= 7.0 (and openssl, for the certificates of its TLS tests); installed here
# when this runs as root with apt.
if ! command -v redis-server >/dev/null || ! command -v openssl >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing redis-server and openssl (apt)"
        (apt-get update -qq && apt-get install -y -qq redis-server openssl) \
            || echo "note: redis-server/openssl could not be installed"
    else
        echo "note: install redis-server (>= 7.0) for the multi-box mode: sudo apt-get install -y redis-server openssl"
    fi
fi

say "done in $(( $(date +%s) - start )) s. Next:"
cat <<'EOF'
  .venv/bin/mlfn demo --output runs/demo --evaluate   # track the built-in two-camera scene, scored
  .venv/bin/python -m pytest -q                        # run the tests
EOF
