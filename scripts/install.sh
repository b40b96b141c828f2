#!/usr/bin/env bash
# Installs everything Midway needs into ./.venv, idempotently: system packages (redis-server, and
# chromium for the browser tests with --dev), then the Python stack. Safe to run again: it skips
# work whose inputs have not changed.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[[ "${1:-}" == "--dev" ]] && dev=1

log() { printf '\033[1m[install]\033[0m %s\n' "$*" >&2; }

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  log "apt-get install $*"
  as_root apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
if ((dev)); then
  command -v chromium >/dev/null || missing+=(chromium)
fi
((${#missing[@]})) && apt_install "${missing[@]}"

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
# A venv without pip (Debian's python lacks ensurepip until python3-venv is installed) is broken:
# remove it, install python3-venv and make it again, rather than fail on every later run.
make_venv() { log "creating .venv with $($python --version)"; "$python" -m venv .venv; }
if ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
  rm -rf .venv
  if ! make_venv 2>/dev/null; then
    rm -rf .venv
    apt_install python3-venv "$(basename "$python")-venv" || apt_install python3-venv
    make_venv
  fi
fi
pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
# This machine's pip config names package folders that may be absent; pip warns once per package.
quiet_pip() { "${pip[@]}" "$@" 2> >(grep -v "^WARNING: Location '.*' is ignored" >&2); }

# Re-run pip only when what it would install changes.
stamp=.venv/.midway-install
want=$(cat pyproject.toml scripts/install.sh | sha256sum | cut -c1-16)-dev$dev
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
  exit 0
fi

# torch first: a loose requirement (ours, or accelerate's) would otherwise pull a multi-GB CUDA
# build. Without an NVIDIA driver we take the CPU wheel; with one, pip's default CUDA build.
if ! .venv/bin/python -c 'import torch' 2>/dev/null; then
  if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
    log "installing torch (CUDA)"
    quiet_pip torch
  else
    # The +cpu build: PyPI's plain torch is the CUDA one (GBs of nvidia packages). A local wheel
    # (this machine's pip config) is used when there is one, else PyTorch's CPU index.
    log "installing torch==2.13.0 (CPU)"
    quiet_pip torch==2.13.0+cpu 2>/dev/null ||
      quiet_pip --extra-index-url https://download.pytorch.org/whl/cpu torch==2.13.0+cpu
  fi
fi

if ((dev)); then target='.[engines,dev]'; else target='.[engines]'; fi
log "installing midway ($target)"
quiet_pip -e "$target"
echo "$want" > "$stamp"
log "done"
