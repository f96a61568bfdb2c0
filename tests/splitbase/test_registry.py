from dataclasses import dataclass

import pytest

from splitbase import ModelError, Registry


def test_entries_named_once_by_their_own_name_or_given_one():
    registry: Registry = Registry("widget", error=ModelError)

    @registry.register()
    @dataclass
    class Gear:
        name = "gear"

    registry.register("cog")(Gear)
    assert registry.names() == ["cog", "gear"] and registry.get("gear") is Gear
    with pytest.raises(ValueError, match="widget 'gear' is registered twice"):
        registry.add("gear", Gear)
    with pytest.raises(ModelError, match=r"unknown widget 'bolt' \(known: cog, gear\)"):
        registry.get("bolt")
