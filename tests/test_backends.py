"""Every architecture computes the same function on every Keras backend.

The TensorFlow backend is the reference: a subprocess with `KERAS_BACKEND=tensorflow` runs
`tests/backend_reference.py`, which builds each architecture of its `ROWS` (all the registered
ones at their smallest input, GoogLeNet's batch-norm variant with its auxiliary classifiers,
and the torchvision variants of ResNet-50, Inception-V3 and MobileNetV2), sets the weights
`shared_weights` draws from a seeded NumPy generator, calibrates the BN statistics on a fixed
batch (so inference-mode BN does work and the logits depend on the image), and saves the
logits of a fixed batch of two images and the statistics. This process, on the backend under
test (JAX, PyTorch), draws the same weights, loads those statistics and compares:
max |difference| / max |TensorFlow| <= 1e-4 for every output.

Measured (keras 3.15.1, TF 2.21, jax 0.10.2, torch 2.13.0+cpu, 2-core AMD EPYC): every row
within 1.8e-5 on JAX (ResNet-152) and 1.5e-5 on PyTorch (Inception-V3), most near 2e-6; the
table per row is in docs/backends.md. The test prints each row's figure (`pytest -s`).

Skipped on the TensorFlow backend itself (nothing to compare) and where TensorFlow is not
installed (it computes the reference).
"""

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import keras
import cnnblocks

sys.path.insert(0, str(Path(__file__).resolve().parent))
import backend_reference as ref  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 1e-4
BACKEND = keras.backend.backend()

pytestmark = [
    pytest.mark.skipif(BACKEND == "tensorflow",
                       reason="compares another backend with TensorFlow; run with "
                              "KERAS_BACKEND=jax or KERAS_BACKEND=torch"),
    pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None,
                       reason="TensorFlow computes the reference outputs: not installed"),
]


@pytest.fixture(scope="module")
def tf_reference(tmp_path_factory):
    """The folder of TensorFlow's outputs (`<row>.npz`) and ResNet18's weight file."""
    out = tmp_path_factory.mktemp("tf_reference")
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "backend_reference.py"), str(out),
         "--weights-file", "resnet18"], env=env, capture_output=True, text=True, timeout=900,
        cwd=ROOT)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "backend tensorflow" in result.stdout
    yield out
    shutil.rmtree(out, ignore_errors=True)


def relative_errors(got, want_file):
    want = np.load(want_file)
    want = [want[key] for key in want.files]  # arr_0, arr_1, ... in output order
    assert len(got) == len(want)
    return [float(np.abs(g - w).max() / np.abs(w).max()) for g, w in zip(got, want)]


def test_every_registered_architecture_has_a_row():
    """Every registered model has a row, or is named in `COVERED_BY_FAMILY_ROW` with a row
    of its own family (one row per structure of the families added in the third wave)."""
    from cnnblocks import registry
    rows = {r[0]: r[1] for r in ref.ROWS}
    assert not set(rows.values()) & set(ref.COVERED_BY_FAMILY_ROW)
    assert set(rows.values()) | set(ref.COVERED_BY_FAMILY_ROW) == set(cnnblocks.list_models())
    for model, row in ref.COVERED_BY_FAMILY_ROW.items():
        assert registry.entry(model).family == registry.entry(rows[row]).family, (model, row)


@pytest.mark.heavy
@pytest.mark.parametrize("row", [r[0] for r in ref.ROWS])
def test_outputs_equal_tensorflow(tf_reference, row):
    keras.backend.clear_session()
    model = ref.shared_weights(ref.build(row), statistics=tf_reference / f"{row}.bn.npz")
    got = ref.outputs(model, ref.batch(row))
    errors = relative_errors(got, tf_reference / f"{row}.npz")
    spread = float(np.abs(got[0][0] - got[0][1]).max() / np.abs(got[0]).max())
    print(f"{BACKEND} {row}: max relative difference from TensorFlow {max(errors):.1e}, "
          f"the two images' logits differ by {spread:.1e}")
    assert max(errors) <= TOLERANCE, errors
    # The comparison means something only if the outputs depend on the image: the two
    # images' logits differ by at least 50 times the tolerance (measured: 0.8% to 110%).
    assert spread > 50 * TOLERANCE, f"the two images give nearly equal outputs ({spread:.1e})"


@pytest.mark.heavy
def test_tensorflow_weight_file_loads_here(tf_reference):
    """A `.weights.h5` file saved on TensorFlow loads through the builder's `weights=` on
    this backend and gives TensorFlow's outputs."""
    keras.backend.clear_session()
    model = cnnblocks.ResNet18(weights=str(tf_reference / "resnet18.weights.h5"),
                               input_shape=(32, 32, 3), classes=ref.CLASSES,
                               classifier_activation=None)
    errors = relative_errors(ref.outputs(model, ref.batch("resnet18")),
                             tf_reference / "resnet18.npz")
    assert max(errors) <= TOLERANCE, errors


@pytest.mark.heavy
def test_benchmark_runs_here_and_refuses_the_tensorflow_parts(tmp_path):
    """`bench_vs_keras.py --quick` on this backend: its table names the backend, and the
    TensorFlow-only inference table is refused with a note instead of failing."""
    out = tmp_path / "bench.md"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_vs_keras.py"), "--quick", "--models",
         "resnet50", "--input-size", "32", "--no-scaling", "--no-memory", "--out", str(out)],
        capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    title = {"jax": "JAX", "torch": "PyTorch"}[BACKEND]
    text = out.read_text()
    assert f"## On the {title} backend" in text
    assert f"| {title} | resnet50 | 32 |" in text
    assert f"Inference rewrites: not measured on {title}: that table is TensorFlow-only" in text
    assert "warning: resnet50: outputs differ" not in result.stderr
