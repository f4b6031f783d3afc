"""The package's shape: a lazy top level with a complete `__all__`, one list of the builders,
and imports that point one way (no cycles, module-level or inside functions)."""

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import cnnblocks
from cnnblocks import architectures

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "cnnblocks"

pytestmark = pytest.mark.backend_independent


def _python(code):
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


# --- the lazy top level -----------------------------------------------------------------------

def test_import_cnnblocks_imports_no_keras():
    out = _python("import sys, cnnblocks; print(sorted(m for m in sys.modules "
                  "if m.split('.')[0] in ('keras', 'tensorflow', 'jax', 'torch')))")
    assert out == "[]"


def test_every_public_name_resolves():
    assert len(cnnblocks.__all__) == len(set(cnnblocks.__all__))
    for name in cnnblocks.__all__:
        assert getattr(cnnblocks, name) is not None, name
    assert set(cnnblocks.__all__) <= set(dir(cnnblocks))
    with pytest.raises(AttributeError, match="no attribute 'ResNet51'"):
        cnnblocks.ResNet51  # noqa: B018


def test_all_names_every_builder_and_the_tools():
    builders = [name for name in architectures.__all__ if name != "FAMILIES"]
    assert cnnblocks.__all__[-len(builders):] == builders
    for name in ("create_model", "list_models", "summarize", "count_macs", "plot", "to_dot",
                 "receptive_field", "feature_extractor", "fold_batchnorm", "blocks", "testing"):
        assert name in cnnblocks.__all__, name
    assert cnnblocks.ResNet50 is importlib.import_module("cnnblocks.architectures.resnet").ResNet50
    assert cnnblocks.summarize is importlib.import_module("cnnblocks.analysis").summarize


def test_every_submodule_is_an_attribute_as_before():
    out = _python("import cnnblocks; print(cnnblocks.registry.entry('VGG-16').name, "
                  "cnnblocks.architectures.vgg.VGG_SPECS[16], hasattr(cnnblocks, 'nowhere'))")
    assert out.splitlines()[-1] == "vgg16 (2, 2, 3, 3, 3) False"


def test_plot_is_the_function_whichever_is_imported_first():
    out = _python("import importlib, cnnblocks; m = importlib.import_module('cnnblocks.plot'); "
                  "print(cnnblocks.plot is m.plot, callable(cnnblocks.plot))")
    assert out == "True True"
    out = _python("import cnnblocks.plot; from cnnblocks import plot; import cnnblocks; "
                  "print(plot is cnnblocks.plot, callable(plot))")
    assert out == "True True"


def test_with_keras_imported_first_saved_models_load_at_once():
    """`import keras; import cnnblocks`: cnnblocks' saved classes are registered, as when the
    package imported everything."""
    out = _python("import keras, cnnblocks; print(keras.saving.get_registered_object("
                  "'cnnblocks>ScaledAdd') is not None, keras.saving.get_registered_object("
                  "'cnnblocks>InputLayer') is not None)")
    assert out.splitlines()[-1] == "True True"


def test_with_cnnblocks_imported_first_saved_models_load_too(tmp_path):
    """`import cnnblocks; import keras`: the classes are registered as Keras is imported, so a
    saved cnnblocks model loads with `safe_mode=True` in either order."""
    path = tmp_path / "m.keras"
    _python("import keras; from cnnblocks.blocks import vgg_block; i = keras.Input((8, 8, 3)); "
            f"keras.Model(i, vgg_block(i, 2, 1, name='b1')).save({str(path)!r})")
    out = _python("import sys, cnnblocks; assert 'keras' not in sys.modules; import keras; "
                  f"m = keras.models.load_model({str(path)!r}, safe_mode=True); "
                  "print(cnnblocks.block_records(m)[0].kind)")
    assert out.splitlines()[-1] == "vgg_block"


# --- one list of the builders -----------------------------------------------------------------

def test_the_builders_list_is_every_family_module_and_its_builders():
    modules = sorted(m.name for m in pkgutil.iter_modules(architectures.__path__)
                     if m.name != "common" and not m.name.startswith("_"))
    assert list(architectures.BUILDERS) == modules
    for module_name, builders in architectures.BUILDERS.items():
        module = importlib.import_module(f"cnnblocks.architectures.{module_name}")
        assert list(builders) == module.__all__, module_name
        assert builders == tuple(e.builder.__name__ for e in module.FAMILY.models), module_name
        for builder in builders:
            assert getattr(architectures, builder) is getattr(module, builder)
    assert architectures.__all__ == ["FAMILIES", *(b for names in architectures.BUILDERS.values()
                                                   for b in names)]


def test_families_are_every_family_record_in_module_order():
    families = [importlib.import_module(f"cnnblocks.architectures.{m}").FAMILY
                for m in architectures.BUILDERS]
    assert list(architectures.FAMILIES.values()) == families
    assert list(architectures.FAMILIES) == [f.name for f in families]


# --- imports point one way --------------------------------------------------------------------

def _module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph():
    """Module -> the package modules it imports, at module level or inside functions."""
    paths = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
    graph = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in paths else base
                          for a in node.names}
        graph[name] = {m for m in found if m in paths and m != name}
    return graph


def _cycles(graph):
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.add(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return set(found)


def test_no_import_cycles():
    cycles = _cycles(_import_graph())
    assert not cycles, [sorted(c) for c in cycles]


def test_weights_receive_their_converter():
    """`weights` is below the PyTorch engine and the registry: it imports neither."""
    graph = _import_graph()
    above = {"cnnblocks.convert", "cnnblocks.torch_weights", "cnnblocks.registry"}
    assert not graph["cnnblocks.weights"] & above
    assert "cnnblocks.registry" not in graph["cnnblocks.torch_weights"]


def test_the_command_line_imports_keras_only_in_its_commands():
    graph = _import_graph()
    assert graph["cnnblocks.cli"] == {"cnnblocks", "cnnblocks.commands"}
    text = (PACKAGE / "cli.py").read_text(encoding="utf-8")
    assert "import keras" not in text and "import ast" not in text


def test_nothing_parses_source_at_run_time():
    offenders = [str(p.relative_to(ROOT)) for p in sorted(PACKAGE.rglob("*.py"))
                 if "ast" in {a.name for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
                              if isinstance(n, ast.Import) for a in n.names}]
    assert not offenders
