"""The typed options of the context's save helpers list exactly the keyword parameters of the functions
they pass through to: an option added to ``save_files`` and forgotten in ``FileOptions`` fails here, not
in a connector's type check."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

from browserkonnector.save import (
    BillOptions,
    DocumentOptions,
    FileOptions,
    HydrateOptions,
    add_data,
    hydrate_and_filter,
    save_bills,
    save_files,
    update_or_create,
)

BOUND_BY_THE_CONTEXT = {"store", "app"}


def keywords(function: Callable[..., Any]) -> set[str]:
    return {
        name for name, p in inspect.signature(function).parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY
    } - BOUND_BY_THE_CONTEXT


@pytest.mark.parametrize(
    ("options", "functions"),
    [
        (FileOptions, [save_files]),
        (BillOptions, [save_bills, save_files]),
        (DocumentOptions, [add_data]),
        (DocumentOptions, [update_or_create]),
        (HydrateOptions, [hydrate_and_filter]),
    ],
)
def test_typed_options_match_the_functions(options: type, functions: list[Callable[..., Any]]) -> None:
    accepted = set().union(*(keywords(f) for f in functions))
    assert set(options.__annotations__) | set(getattr(options, "__optional_keys__", ())) == accepted
