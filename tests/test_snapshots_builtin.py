"""Every registered architecture equals its committed architecture snapshot
(tests/snapshots/architectures/<name>.json) and its receptive-field table in
docs/receptive_fields.md.

Each model is built once, at its default size with random weights, and freed before the next.
After a deliberate change (or for a new model), rewrite the snapshots, review them with
`git diff` and commit them:

    CNNBLOCKS_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_snapshots_builtin.py
    (or: python -m pytest tests/test_snapshots_builtin.py --cnnblocks-update)
"""

import importlib.util
from pathlib import Path

import keras
import pytest

import cnnblocks
from cnnblocks import snapshot
from cnnblocks.testing import assert_architecture

# Nothing here depends on the Keras backend: the TensorFlow pass runs it (conftest.py).
pytestmark = pytest.mark.backend_independent

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = ROOT / "tests" / "snapshots" / "architectures"
UPDATE = "CNNBLOCKS_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_snapshots_builtin.py"
RF_PAGE = ROOT / "docs" / "receptive_fields.md"


@pytest.fixture(scope="module")
def rf_script():
    spec = importlib.util.spec_from_file_location("make_rf_table",
                                                  ROOT / "scripts" / "make_rf_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.heavy
@pytest.mark.parametrize("name", cnnblocks.list_models())
def test_architecture_matches_its_snapshot(name, rf_script):
    path = SNAPSHOTS / f"{name}.json"
    if not path.exists() and not snapshot.update_requested():
        pytest.fail(f"no snapshot for {name}: run `{UPDATE}` to create "
                    f"{path.relative_to(ROOT)}, then review and commit it")
    model = cnnblocks.create_model(name)
    try:
        assert_architecture(model, path, create=False)
        fields = cnnblocks.receptive_field(model)
    finally:
        del model
        keras.backend.clear_session()
    page = RF_PAGE.read_text(encoding="utf-8")
    assert rf_script.model_section(name, fields) in page, (
        f"docs/receptive_fields.md is stale for {name}: run `python scripts/make_rf_table.py`")
    assert " | ".join(rf_script.summary_row(name, fields)) in page, (
        f"docs/receptive_fields.md is stale for {name}: run `python scripts/make_rf_table.py`")


def test_every_snapshot_is_a_registered_model():
    stale = sorted({p.stem for p in SNAPSHOTS.glob("*.json")} - set(cnnblocks.list_models()))
    assert not stale, f"snapshots of models that are not registered: {stale}; delete them"
