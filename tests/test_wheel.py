"""The `pip install` route: `python -m build` makes a wheel that installs into a fresh virtual
environment and works there.

How, and why so. A fresh environment with all the dependencies would download TensorFlow
(about 600 MB) on every run, so the test stays offline and under a minute instead:

1. the package's files (setup.py, pyproject.toml, README.md, cnnblocks/, cnnblocks_pytest.py)
   are copied to a scratch folder, so the build leaves nothing in the checkout, and
   `python -m build --wheel --no-isolation` builds the wheel there with the setuptools of this
   environment (an isolated build would download setuptools);
2. the wheel's contents are checked: the package and its data (the ImageNet class index), the
   pytest plugin beside it, the entry points (the console script is `cnnblocks.cli:main`), the
   metadata (dependencies, extras, classifiers);
3. a fresh virtual environment (no pip, no packages) gets the wheel with
   `pip --python <venv> install --no-deps --no-index`, and its `cnnblocks` console script
   answers `--version` and `--help` there, without Keras installed (the package imports
   lazily);
4. that environment's Python imports the installed package (not the checkout: it runs in the
   scratch folder) with this environment's site-packages on PYTHONPATH for Keras and the other
   dependencies: its console script lists the models, and it builds one.

`python -m build` needs the `build` package (in the `dev` extra); without it the test is skipped.
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import cnnblocks

ROOT = Path(__file__).resolve().parent.parent
FILES = ["setup.py", "pyproject.toml", "README.md", "LICENSE", "cnnblocks_pytest.py"]

pytestmark = [
    pytest.mark.backend_independent,  # nothing here depends on the Keras backend (conftest.py)
    pytest.mark.skipif(importlib.util.find_spec("build") is None,
                                reason="the `build` package is not installed "
                                       "(pip install build; it is in the dev extra)"),
]


def _run(args, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, f"{args}: {result.stdout[-2000:]}{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in FILES:
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "cnnblocks", src / "cnnblocks",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
          str(tmp / "dist"), str(src)])
    wheels = list((tmp / "dist").glob("cnnblocks-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_the_wheel_holds_the_package_its_data_and_the_console_script(wheel):
    assert wheel.name == f"cnnblocks-{cnnblocks.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = f"cnnblocks-{cnnblocks.__version__}.dist-info"
        metadata = archive.read(f"{info}/METADATA").decode()
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    for name in ("cnnblocks/__init__.py", "cnnblocks/plot.py", "cnnblocks/blocks/__init__.py",
                 "cnnblocks/architectures/googlenet.py", "cnnblocks/data/imagenet_class_index.json",
                 "cnnblocks/cli.py", "cnnblocks/__main__.py", "cnnblocks_pytest.py",
                 "cnnblocks/py.typed", f"{info}/licenses/LICENSE"):
        assert name in names, f"{name} is not in {wheel.name}"
    assert not [n for n in names if n.startswith(("tests/", "docs/", "examples/"))]
    assert "cnnblocks = cnnblocks.cli:main" in entry_points
    assert "cnnblocks = cnnblocks_pytest" in entry_points
    assert "cnnblocks_cli.py" not in names
    for line in ("Requires-Dist: keras<4,>=3.8", "Provides-Extra: tf", "Provides-Extra: tf-cpu",
                 "License-File: LICENSE", "Requires-Python: >=3.10"):
        assert line in metadata, line
    assert re.search(r"^License(-Expression)?: Apache-2\.0$", metadata, re.M)
    # The license is stated once, as an SPDX expression (setuptools >= 77 warns about a
    # license classifier beside it).
    assert "Classifier: License ::" not in metadata
    assert "pip install" in metadata  # the README, with its install line, is the description


def test_the_wheel_installs_into_a_fresh_environment_and_runs(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
          "--no-index", "--quiet", str(wheel)])
    script = venv / "bin" / "cnnblocks"
    # The console script answers these without Keras (not installed in this environment).
    assert _run([str(script), "--version"]).strip() == f"cnnblocks {cnnblocks.__version__}"
    assert "usage: cnnblocks" in _run([str(script), "--help"])
    # The installed package, with this environment's Keras, TensorFlow, ... on the path.
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"],
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    listing = _run([str(script), "list"], cwd=tmp_path, env=env)
    assert "googlenet" in listing and "inception_module" in listing
    code = ("import cnnblocks, importlib.resources as r; print(cnnblocks.__file__); "
            "print(r.files('cnnblocks').joinpath('data/imagenet_class_index.json').is_file()); "
            "m = cnnblocks.create_model('squeezenet1_1', input_shape=(64, 64, 3)); "
            "print(m.count_params())")
    out = _run([str(python), "-c", code], cwd=tmp_path, env=env).split()
    assert Path(out[-3]).is_relative_to(venv), out   # the wheel's copy, not the checkout
    assert out[-2:] == ["True", "1235496"]           # SqueezeNet 1.1: torchvision's count
