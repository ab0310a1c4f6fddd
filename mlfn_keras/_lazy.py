"""Lazy package attributes, so `python -m pkg.module` and light imports stay cheap."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: dict
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """Returns module-level ``__getattr__`` / ``__dir__`` importing on first use.

    Args:
        package: the package's ``__name__`` (for error messages).
        exports: attribute name → module that defines it (or, for a submodule
            exported by name, the submodule itself: ``"x": "pkg.x"``).
        namespace: the package's ``globals()``; resolved names are cached there.
    """

    def __getattr__(name: str):
        if name in exports:
            module = importlib.import_module(exports[name])
            value = module if exports[name] == f"{package}.{name}" else getattr(module, name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(list(namespace) + list(exports))

    return __getattr__, __dir__
