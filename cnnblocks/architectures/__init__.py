"""Full architectures composed from `cnnblocks.blocks`, one module per family.

Every module here except `common` is a family: it ends with `FAMILY = Family(...)` (see
`cnnblocks.family`) and lists its public builders in `__all__`. The modules are found and
imported here, so adding a family is adding its module; nothing else lists families.
"""

import importlib
import pkgutil

#: Family name -> `cnnblocks.family.Family`, in module-name order.
FAMILIES = {}

__all__ = ["FAMILIES"]

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name == "common" or _info.name.startswith("_"):
        continue
    _module = importlib.import_module(f"{__name__}.{_info.name}")
    FAMILIES[_module.FAMILY.name] = _module.FAMILY
    for _builder in _module.__all__:
        globals()[_builder] = getattr(_module, _builder)
        __all__.append(_builder)
del _info, _module, _builder
