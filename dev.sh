#!/usr/bin/env bash
# The project's one entry point on a bare Linux machine with Python 3.10+:
#   ./dev.sh demo    set everything up, then run the main job
#   ./dev.sh test    set everything up, then run the whole test suite (TensorFlow backend)
#   ./dev.sh test-export-sweep
#                    set up, then write every registered architecture as ONNX and LiteRT and
#                    verify it (tests/test_export_architectures.py; too long for CI)
#   ./dev.sh test-backends
#                    set up, add the JAX and PyTorch backends, then run the suite's backend
#                    selection on each (KERAS_BACKEND=jax, then torch; BACKEND_SELECTION below)
#   ./dev.sh bench   set everything up, then benchmark against keras.applications on
#                    TensorFlow, then ResNet50 on JAX and PyTorch (report also written to
#                    docs/benchmarks.md; a quiet machine, tens of minutes)
#   ./dev.sh setup   only set up (.venv with the package and its dev extras, Graphviz's dot,
#                    Chromium for the documentation's browser test where apt-get can install it)
#   ./dev.sh setup-backends
#                    set up, then add the JAX and PyTorch backends to .venv
# Extra arguments after `test` / `test-backends` go to pytest (BACKENDS="jax" picks the
# backends of test-backends).
#
# The extra backends: `pip install -e .[jax,torch]` after `pip install $TORCH_SPEC`
# (default "torch==2.13.0 torchvision==0.28.0": torchvision pins its torch exactly, so an
# unpinned torchvision would replace the CPU torch with the CUDA build its newest release
# needs). PyPI's Linux x86_64 torch wheels are CUDA builds that pull several GB of CUDA
# libraries (and triton); this project's machines keep PyTorch 2.13.0's CPU build
# (2.13.0+cpu) where their pip looks (find-links), and pip prefers it for torch==2.13.0, so
# nothing CUDA is installed (~900 MB for torch and its dependencies). Elsewhere set
# TORCH_PIP_ARGS to pip options that reach a CPU build (e.g. PyTorch's own CPU package index
# with --index-url), or accept the CUDA build, which also runs on the CPU. JAX: jax[cpu]
# from PyPI (~600 MB).
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.cnnblocks-installed
BACKENDS_STAMP=$VENV/.cnnblocks-backends-installed
# The extra backends' selection (markers: pyproject.toml, tests/conftest.py): every test but
# the TensorFlow-only ones, those whose result cannot depend on this process' backend, and the
# heavy cases of checks repeated per architecture, except ResNet50's and InceptionV3's
# (tests/test_backends.py compares every architecture's outputs with TensorFlow's there).
BACKEND_SELECTION=${BACKEND_SELECTION:-not tf_only and not backend_independent and (not heavy or not per_architecture or all_backends)}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0 torchvision==0.28.0}
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

ensure_backends() {
  local want
  want="$(cat setup.py pyproject.toml | cksum) $TORCH_SPEC ${TORCH_PIP_ARGS:-}"
  if [ -f "$BACKENDS_STAMP" ] && [ "$(cat "$BACKENDS_STAMP")" = "$want" ]; then return 0; fi
  say "installing the PyTorch ($TORCH_SPEC, CPU build) and JAX (jax[cpu]) backends into $VENV"
  # shellcheck disable=SC2086  # TORCH_SPEC: requirements; TORCH_PIP_ARGS: pip options
  "$VENV/bin/python" -m pip install -q $TORCH_SPEC ${TORCH_PIP_ARGS:-}
  "$VENV/bin/python" -m pip install -q -e ".[jax,torch]"
  if ! "$VENV/bin/python" -c 'import sys, torch; sys.exit(torch.version.cuda is not None)'; then
    say "note: this torch is a CUDA build (it runs on the CPU too); see TORCH_PIP_ARGS above"
  fi
  "$VENV/bin/python" -c 'import torch; print("[dev.sh] torch", torch.__version__)' >&2
  echo "$want" > "$BACKENDS_STAMP"
}

setup() { ensure_python; ensure_venv; ensure_package; ensure_dot; ensure_chromium; }

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  setup) setup ;;
  setup-backends) setup; ensure_backends ;;
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
    # The export sweep (every architecture to ONNX and LiteRT) is test-export-sweep's.
    KERAS_BACKEND=tensorflow exec "$VENV/bin/python" -m pytest -n "${PYTEST_WORKERS:-2}" \
      --dist loadfile -m "not export_sweep" "$@"
    ;;
  test-export-sweep)
    setup
    KERAS_BACKEND=tensorflow exec "$VENV/bin/python" -m pytest -n "${PYTEST_WORKERS:-2}" \
      -m export_sweep tests/test_export_architectures.py "$@"
    ;;
  test-backends)
    setup
    ensure_backends
    status=0
    for backend in ${BACKENDS:-jax torch}; do
      say "the test suite on the $backend backend"
      start=$SECONDS
      KERAS_BACKEND=$backend "$VENV/bin/python" -m pytest -n "${PYTEST_WORKERS:-2}" \
        --dist loadfile -m "$BACKEND_SELECTION" "$@" || status=$?
      say "$backend pass: $((SECONDS - start)) s"
    done
    exit "$status"
    ;;
  bench)
    setup
    ensure_backends
    KERAS_BACKEND=tensorflow "$VENV/bin/python" benchmarks/bench_vs_keras.py \
      --out docs/benchmarks.md "$@"
    for backend in jax torch; do  # the ResNet50 forward ratio on the other backends
      KERAS_BACKEND=$backend "$VENV/bin/python" benchmarks/bench_vs_keras.py --models resnet50 \
        --no-memory --no-inference --no-scaling --append --out docs/benchmarks.md
    done
    ;;
  *)
    echo "usage: ./dev.sh demo | test [pytest args] | test-backends [pytest args] |" \
         "test-export-sweep | bench [benchmark args] | setup | setup-backends" >&2
    exit 2
    ;;
esac
