"""cnnblocks: the milestone CNN building blocks and architectures on the Keras 3 functional API.

`import cnnblocks` imports no Keras: each public name is imported from its module on first
access (PEP 562), so the `cnnblocks` command answers `--help` at once. `cnnblocks.plot` is the
function `plot` even after its module is imported: reach the module with
`importlib.import_module("cnnblocks.plot")`.
"""

import importlib
import importlib.abc
import importlib.util
import os
import sys
import types

__version__ = "0.1.0"

from cnnblocks import architectures  # noqa: E402  (no Keras: it lists the builders)

#: The public subpackages and modules (in `__all__`), imported on first access.
_MODULES = ("architectures", "blocks", "design", "distribution", "published", "testing")
#: Public function -> the module that defines it, imported on first access; then every
#: builder (`cnnblocks.architectures.BUILDERS`).
_FUNCTIONS = {
    "create_model": "registry", "list_models": "registry", "list_weights": "registry",
    "count_macs": "analysis", "summarize": "analysis", "weight_depth": "analysis",
    "block_records": "identity",
    "receptive_field": "receptive",
    "plot": "plot", "to_dot": "plot",
    "feature_extractor": "features", "feature_info": "features",
    "export": "deploy",
    "fold_batchnorm": "inference", "optimize_for_inference": "inference",
    **{builder: "architectures" for names in architectures.BUILDERS.values()
       for builder in names},
}

__all__ = ["__version__", *_MODULES, *_FUNCTIONS]


def __getattr__(name):
    """The public names, imported on first access; any submodule too (`cnnblocks.registry`),
    as when the package imported them all."""
    if name in _FUNCTIONS:
        value = getattr(importlib.import_module(f"{__name__}.{_FUNCTIONS[name]}"), name)
        globals()[name] = value  # looked up once
        return value
    if not name.startswith("__"):
        try:
            return importlib.import_module(f"{__name__}.{name}")  # which binds it here
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":  # a module it imports is missing
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """The package's class: importing the module `cnnblocks.plot` binds it as the package's
    attribute `plot` (the import system does so for every submodule), where the function
    `plot` of that module belongs. Setting a module's `__class__` is Python's documented way to
    customize its attribute access ("Customizing module attribute access")."""

    def __setattr__(self, name, value):
        if name == "plot" and isinstance(value, types.ModuleType):
            value = value.plot
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package



def _register():
    """Registers cnnblocks' saved classes (its layers, the recording input layer) with Keras,
    so `keras.models.load_model(..., safe_mode=True)` reads cnnblocks models."""
    importlib.import_module(f"{__name__}.layers")
    importlib.import_module(f"{__name__}.identity")


#: Keras backend module -> the extra that installs it.
_BACKEND_EXTRAS = {"tensorflow": "tf-cpu", "jax": "jax", "torch": "torch"}


def _missing_backend(err):
    """Keras' import error when its backend's package is missing, as one line that says what
    to install (any other missing module: the error itself)."""
    if err.name not in _BACKEND_EXTRAS:
        return err
    extra = _BACKEND_EXTRAS[err.name]
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    return ModuleNotFoundError(
        f"Keras' backend {backend!r} (KERAS_BACKEND) needs the {err.name!r} package, which is "
        f"not installed: pip install \"cnnblocks[{extra}]\" (from a clone: pip install "
        f"\".[{extra}]\"), or set KERAS_BACKEND to an installed backend (tensorflow, jax, "
        "torch).", name=err.name)


class _RegisterWithKeras(importlib.abc.MetaPathFinder):
    """Registers cnnblocks' saved classes right after Keras is imported (a finder on
    `sys.meta_path` that wraps the loading of `keras`, the import system's documented hook):
    `import cnnblocks` then `import keras` loads saved models as `import keras` first does."""

    finding = False  # set while this finder asks the others (find_spec is reentrant)

    def find_spec(self, name, path=None, target=None):
        if name != "keras" or self.finding:
            return None
        self.finding = True
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self.finding = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        load = spec.loader.exec_module

        def exec_module(module):
            try:
                load(module)
            except ModuleNotFoundError as err:  # this finder stays for the next try
                raise _missing_backend(err) from None
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            _register()

        spec.loader.exec_module = exec_module
        return spec


if "keras" in sys.modules:
    _register()
elif not any(isinstance(f, _RegisterWithKeras) for f in sys.meta_path):
    sys.meta_path.insert(0, _RegisterWithKeras())
