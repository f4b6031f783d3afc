"""The `cnnblocks` pytest plugin: architecture snapshots in two lines.

Installed with cnnblocks (entry point `pytest11: cnnblocks`), so any test suite gets:

- the fixture `architecture_snapshot`: call it with a model; the first run records the model's
  block table in `snapshots/<test module>/<test name>.json` next to the test file, every later
  run compares the model with it (`cnnblocks.testing.assert_architecture`)::

      def test_my_net(architecture_snapshot):
          architecture_snapshot(build_my_net())

- the option `--cnnblocks-update`: rewrite every snapshot that differs (after a deliberate
  change), for the fixture and for direct `assert_architecture` calls alike. The terminal
  summary lists the snapshots written.

Without the entry point (cnnblocks not installed, only on `sys.path`), load the plugin with
`pytest -p cnnblocks_pytest`.

The module sits beside the `cnnblocks` package and imports it (and Keras) only when a snapshot
is taken, so every pytest run of a project with cnnblocks installed starts as fast as before,
and a `conftest.py` that sets `KERAS_BACKEND` still chooses the backend.
"""

import hashlib
import json
import os
import pathlib
import re
import sys

import pytest

_STATE = pytest.StashKey()
#: The environment variable `cnnblocks.snapshot` reads (`--cnnblocks-update` sets it).
UPDATE_ENV = "CNNBLOCKS_UPDATE_SNAPSHOTS"


def pytest_addoption(parser):
    group = parser.getgroup("cnnblocks", "cnnblocks architecture snapshots")
    group.addoption("--cnnblocks-update", action="store_true", default=False,
                    dest="cnnblocks_update",
                    help="rewrite the architecture snapshots that differ from the models "
                         "(cnnblocks.testing.assert_architecture, architecture_snapshot)")


def _written():
    """Snapshots written so far, if cnnblocks' snapshot module was imported."""
    module = sys.modules.get("cnnblocks.snapshot")
    return module.written if module is not None else []


def pytest_configure(config):
    config.stash[_STATE] = (os.environ.get(UPDATE_ENV), len(_written()))
    if config.getoption("cnnblocks_update", False):
        os.environ[UPDATE_ENV] = "1"


def pytest_unconfigure(config):
    if _STATE in config.stash:
        previous = config.stash[_STATE][0]
        if previous is None:
            os.environ.pop(UPDATE_ENV, None)
        else:
            os.environ[UPDATE_ENV] = previous


def pytest_terminal_summary(terminalreporter, config):
    start = config.stash[_STATE][1] if _STATE in config.stash else 0
    written = _written()[start:]
    if written:
        terminalreporter.write_sep("-", "cnnblocks architecture snapshots")
        for action, path in written:
            terminalreporter.write_line(f"{action} {path}")


#: A test name kept as it is in its file name: `test_net` or `test_net[<id>]` (the characters
#: of `[\w.\[\]-]`). Such a name has no `.` outside its brackets and ends in `]` or has none.
_PLAIN_TEST = re.compile(r"\w[\w-]*(\[[\w.\[\]-]*\])?")
#: A snapshot name kept as it is: word characters and `-`, not only digits (`.2` numbers the
#: unnamed calls).
_PLAIN_NAME = re.compile(r"[\w-]+")
#: The longest file stem kept readable in full (file systems allow 255 bytes).
_MAX_STEM = 120


def _file_name(text):
    """Text as part of a file name: characters other than `[\w.\[\]-]` become `_`."""
    return re.sub(r"[^\w.\[\]-]", "_", text)


def file_stem(test_name, name=None, index=1):
    """The file name (without `.json`) of a test's snapshot; different tests and snapshots
    always get different files.

    A plain test name and snapshot name are kept: `test_net`, `test_net[vgg16]`,
    `test_net.2` (the second unnamed call), `test_net.backbone` (`name="backbone"`). Any
    other name (characters outside `[\w.\[\]-]`, a dot outside the brackets, a snapshot name
    with a dot, only digits or other characters) keeps a readable part, `_` for each such
    character, and adds `~` and a hash of the exact test and snapshot names:
    `test_net[a_b]~3f9c0a1b2d` for `test_net[a/b]`. Plain names have no `~`, so the two
    kinds never meet; two escaped names differ in their hashes.

    Args:
        test_name: str, the test's name (`request.node.name`).
        name: None or str, the snapshot's name.
        index: int, the number of the unnamed call (1 for the first).
    """
    if name is None:
        suffix, plain = ("" if index == 1 else f".{index}"), True
    else:
        suffix = "." + _file_name(name)
        plain = bool(_PLAIN_NAME.fullmatch(name)) and not name.isdigit()
    readable = _file_name(test_name) + suffix
    if plain and _PLAIN_TEST.fullmatch(test_name) and len(readable) <= _MAX_STEM:
        return readable
    key = json.dumps([test_name, index if name is None else name], ensure_ascii=True)
    digest = hashlib.sha256(key.encode("ascii")).hexdigest()[:10]
    return f"{readable[:_MAX_STEM]}~{digest}"


class ArchitectureSnapshot:
    """What the `architecture_snapshot` fixture returns: call it with a model.

    Attributes:
        directory: the folder of this test's snapshots,
            `<test file folder>/snapshots/<test module>`.
        test_name: the test's name (its files are named after it, see `file_stem`).
    """

    def __init__(self, directory, test_name):
        self.directory = pathlib.Path(directory)
        self.test_name = test_name
        self._calls = 0
        self._names = set()

    def path(self, name=None):
        """The file the next call without `name` (or the call with `name`) uses:
        `<test>.json`, then `<test>.2.json`, ...; `<test>.<name>.json` with a name (see
        `file_stem` for names that are not plain)."""
        stem = file_stem(self.test_name, name, self._calls + 1)
        return self.directory / f"{stem}.json"

    def __call__(self, model, *, name=None, layers=False, input_shape=None):
        """Asserts `model` equals its snapshot (recorded on the first run).

        Args:
            model: the `keras.Model`.
            name: None, or a name for this snapshot when a test checks several models.
            layers: bool, whether every layer is recorded and compared too. Default False.
            input_shape: None or a shape without batch, as in `cnnblocks.summarize`.

        Returns:
            The snapshot's path.
        """
        __tracebackhide__ = True
        from cnnblocks.snapshot import assert_architecture
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"`name` must be None or a non-empty str, received {name!r}.")
        if name in self._names:
            raise ValueError(f"`name` {name!r} was given twice in this test: one snapshot "
                             "per name.")
        path = self.path(name)
        if name is None:
            self._calls += 1
        else:
            self._names.add(name)
        assert_architecture(model, path, layers=layers, input_shape=input_shape)
        return path


@pytest.fixture
def architecture_snapshot(request):
    """Compares a model with its architecture snapshot, a file named after the test.

    Example:
        def test_my_net(architecture_snapshot):
            architecture_snapshot(build_my_net())
    """
    test_file = pathlib.Path(request.node.path)
    return ArchitectureSnapshot(test_file.parent / "snapshots" / test_file.stem,
                                request.node.name)
