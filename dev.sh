#!/usr/bin/env bash
# The project's one entry point on a bare Linux machine with Python 3.10+:
#   ./dev.sh demo    set everything up, then run the main job
#   ./dev.sh test    set everything up, then run the whole test suite
#   ./dev.sh bench   set everything up, then benchmark against keras.applications
#                    (report also written to docs/benchmarks.md; a quiet machine, tens of minutes)
#   ./dev.sh setup   only set up (.venv with the package and its dev extras, Graphviz's dot,
#                    Chromium for the documentation's browser test where apt-get can install it)
# Extra arguments after `test` go to pytest.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.cnnblocks-installed
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}

say() { printf '[dev.sh] %s\n' "$*" >&2; }
die() { printf '[dev.sh] error: %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly, through passwordless sudo, or not at all (returns 1).
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo "$@"
  else return 1; fi
}

apt_install() {
  command -v apt-get >/dev/null 2>&1 || return 1
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || return 1
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_python() {
  command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found: install Python 3.10 or newer."
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
    die "$PYTHON is $("$PYTHON" -V 2>&1); cnnblocks needs Python 3.10 or newer (set PYTHON=...)."
}

ensure_venv() {
  [ -x "$VENV/bin/python" ] && return 0
  say "creating $VENV"
  if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
    rm -rf "$VENV"
    ver=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    say "python's venv module is missing; installing python3-venv with apt-get"
    apt_install "python$ver-venv" || apt_install python3-venv ||
      die "cannot create a virtual environment. Install the venv module (Debian/Ubuntu: sudo apt-get install python3-venv) and rerun."
    "$PYTHON" -m venv "$VENV"
  fi
}

ensure_package() {
  local want
  want=$(cat setup.py pyproject.toml | cksum)
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then return 0; fi
  say "installing cnnblocks with its dev extras into $VENV (TensorFlow CPU build)"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e ".[tf-cpu,dev]"
  echo "$want" > "$STAMP"
}

ensure_dot() {
  command -v dot >/dev/null 2>&1 && return 0
  say "Graphviz's dot is missing; installing Debian's graphviz package with apt-get"
  apt_install graphviz && command -v dot >/dev/null 2>&1 && return 0
  die "Graphviz's 'dot' program is needed for the diagrams and could not be installed here (no root or no apt-get).
Install it, then rerun:  Debian/Ubuntu: sudo apt-get install graphviz
                         Fedora: sudo dnf install graphviz    macOS: brew install graphviz
                         conda: conda install graphviz"
}

# Headless Chromium renders the documentation in tests/test_docs_browser.py; without it that
# test is skipped (and says why), so a machine where it cannot be installed still runs the rest.
ensure_chromium() {
  local name
  for name in chromium chromium-browser google-chrome; do
    command -v "$name" >/dev/null 2>&1 && return 0
  done
  say "Chromium is missing; installing Debian's chromium package with apt-get (for the documentation's browser test)"
  apt_install chromium && command -v chromium >/dev/null 2>&1 && return 0
  say "Chromium could not be installed here (no root or no apt-get): tests/test_docs_browser.py will be skipped.
         Install it to run that test: Debian/Ubuntu: sudo apt-get install chromium"
}

setup() { ensure_python; ensure_venv; ensure_package; ensure_dot; ensure_chromium; }

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  setup) setup ;;
  demo)
    setup
    say "main job 1/2: cnnblocks verify (every architecture against the published numbers)"
    "$VENV/bin/cnnblocks" verify
    say "main job 2/2: the blocks tutorial's networks -> out/examples"
    for example in vgg_blocks naive_inception reduced_inception residual_module; do
      "$VENV/bin/python" "examples/$example.py" out/examples
    done
    ;;
  test)
    setup
    # Two workers, one test file each (module fixtures build each big model once per file).
    exec "$VENV/bin/python" -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadfile "$@"
    ;;
  bench)
    setup
    exec "$VENV/bin/python" benchmarks/bench_vs_keras.py --out docs/benchmarks.md "$@"
    ;;
  *)
    echo "usage: ./dev.sh demo | test [pytest args] | bench [benchmark args] | setup" >&2
    exit 2
    ;;
esac
