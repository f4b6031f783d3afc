"""Shared test setup: quiet TensorFlow, deterministic seeds, and the backend markers.

Markers (registered in pyproject.toml):

- `tf_only(reason)`: the test needs the TensorFlow backend in this process (a `tf.function`,
  TensorFlow's profiler, `tf.distribute`); it is skipped, with its reason shown, when
  `KERAS_BACKEND` is another backend.
- `backend_independent`: nothing the test checks depends on the backend of this process: it
  works in subprocesses with their own, fixed `KERAS_BACKEND` (e.g. the JAX
  `keras.distribution` runs), or checks the docs, the wheel, argument validation or the
  built-in architectures' recorded structure. One pass runs it (`./dev.sh test`);
  `./dev.sh test-backends` deselects it.
- `per_architecture` (on a module): one check repeated over many architectures.
  `./dev.sh test-backends` runs its light cases, and its heavy cases only where they are also
  marked `all_backends` (ResNet50 and InceptionV3); `tests/test_backends.py` compares every
  architecture's outputs with TensorFlow's on the other backends.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402

BACKEND = keras.backend.backend()


def pytest_report_header(config):
    return f"keras {keras.__version__}, backend {BACKEND}"


def pytest_collection_modifyitems(config, items):
    if BACKEND == "tensorflow":
        return
    for item in items:
        marker = item.get_closest_marker("tf_only")
        if marker is not None:
            why = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            item.add_marker(pytest.mark.skip(
                reason=f"TensorFlow only ({why}); this run's backend is {BACKEND}"))


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    yield


@pytest.fixture(scope="module")
def oracle():
    """tests/torch_oracle.py, for the family tests that convert from torchvision (needs torch:
    the tests using it are skipped without it)."""
    pytest.importorskip("torch")
    import torch_oracle
    return torch_oracle


@pytest.fixture(scope="module")
def tv(oracle):
    """torchvision, imported through tests/torch_oracle.py's workaround."""
    return oracle.import_torchvision()
