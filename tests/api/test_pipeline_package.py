"""``api.pipeline`` re-exports its submodules' names lazily (PEP 562): every one resolves.

The package maps each public name to its submodule (``_HOMES``) besides ``__all__`` and the
``TYPE_CHECKING`` imports mypy reads; a name in ``__all__`` but not mapped would pass ruff and
mypy and fail only when first used.
"""

from __future__ import annotations

import importlib

import pytest

import api.pipeline


def test_every_public_name_is_mapped_and_is_its_submodules_object() -> None:
    homes = api.pipeline._HOMES
    mapped = [name for names in homes.values() for name in names]
    assert sorted(mapped) == sorted(api.pipeline.__all__)
    for module, names in homes.items():
        home = importlib.import_module(f"api.pipeline.{module}")
        for name in names:
            assert getattr(api.pipeline, name) is getattr(home, name), name


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    # AttributeError, as without the lazy names: hasattr() and getattr(..., default) rely on it
    with pytest.raises(AttributeError, match="NoSuchName"):
        api.pipeline.NoSuchName  # type: ignore[attr-defined]  # noqa: B018
    assert not hasattr(api.pipeline, "NoSuchName")
