#!/usr/bin/env bash
# One entry point for a fresh machine. Each command sets up what it needs first (idempotent):
#   bash scripts/dev.sh anki    build the add-on and launch Anki with it in a throwaway profile
#   bash scripts/dev.sh test    ruff, mypy, then the whole test suite (extra args go to pytest)
#   bash scripts/dev.sh setup   only set up (.venv, system packages, build)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}
export PIP_CACHE_DIR=${PIP_CACHE_DIR:-$HOME/.cache/pip}
export PIP_DISABLE_PIP_VERSION_CHECK=1

# Libraries Qt/QtWebEngine need, and Xvfb for a real window on a machine with no screen.
APT_PACKAGES=(xvfb xauth libnss3 libxcomposite1 libxdamage1 libxrandr2 libxtst6 libxkbfile1 libasound2
  libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
  libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libfontconfig1 libdbus-1-3 libglib2.0-0)

setup_system() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    echo "dev.sh: installing system packages: ${missing[*]}" >&2
    local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

setup_venv() {
  local stamp=.venv/.stamp want
  want=$(cat requirements-dev.txt vendor/requirements.in | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  echo "dev.sh: setting up .venv" >&2
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/pip install -q -r requirements-dev.txt
  echo "$want" > "$stamp"
}

build_local() {
  .venv/bin/python build.py --local >&2
}

cmd=${1:-test}; shift || true
case "$cmd" in
  setup)
    setup_system; setup_venv; build_local ;;
  test)
    setup_system; setup_venv; build_local
    .venv/bin/ruff check .
    .venv/bin/mypy
    exec .venv/bin/python -m pytest "$@" ;;
  anki)
    setup_system; setup_venv; build_local
    exec .venv/bin/python -m tests.e2e.launch "$@" ;;
  *)
    echo "usage: bash scripts/dev.sh [setup|test|anki]" >&2; exit 2 ;;
esac
