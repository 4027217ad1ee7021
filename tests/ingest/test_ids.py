"""Choosing the attribute that keeps feature ids stable across replacements."""

from __future__ import annotations

import pandas as pd
import pytest

from webmap.ingest.ids import choose_id_field, key_text
from webmap.problems import ImportFailed
from webmap.store.common import plan_fids


def frame(**columns: list[object]) -> pd.DataFrame:
    return pd.DataFrame(columns)


def choose(data: pd.DataFrame, requested: str | None = None,
           previous: str | None = None) -> tuple[str, list[str]]:
    names = list(data.columns)
    return choose_id_field(data, names, [n.upper() for n in names], requested=requested,
                           previous=previous, what="the GeoJSON plan.geojson")


def test_the_first_unique_id_like_column_is_chosen() -> None:
    data = frame(name=["a", "b", "c"], kaavatunnus=["K1", "K1", "K1"],
                 gml_id=["x1", "x2", "x3"], osm_id=[1, 2, 3])
    assert choose(data) == ("gml_id", [])
    assert choose(frame(name=["a", "b"], floors=[1, 2])) == ("", [])
    assert choose(frame(id=[1, None, 3], kohde_id=[7, 8, 9])) == ("kohde_id", [])


def test_a_named_field_must_identify_every_feature() -> None:
    data = frame(nimi=["a", "a"], tunnus=["1", "2"])
    assert choose(data, "TUNNUS") == ("tunnus", []), "the file's own spelling works too"
    assert choose(data, "none") == ("", [])
    with pytest.raises(ImportFailed, match="'a' is repeated"):
        choose(data, "nimi")
    with pytest.raises(ImportFailed, match="no attribute 'kohde'.*nimi, tunnus"):
        choose(data, "kohde")


def test_the_previous_versions_field_wins_while_the_file_has_it() -> None:
    data = frame(gml_id=["a", "b"], tunnus=["1", "2"])
    assert choose(data, previous="tunnus") == ("tunnus", [])
    chosen, notes = choose(frame(gml_id=["a", "b"]), previous="tunnus")
    assert chosen == "gml_id" and "'tunnus' is missing" in notes[0]


def test_keys_compare_by_value_across_types() -> None:
    assert key_text(12) == key_text(12.0) == key_text(" 12 ") == "12"
    assert key_text(None) is None and key_text(float("nan")) is None


def test_ids_follow_keys_and_never_reuse_a_removed_one() -> None:
    first = plan_fids(frame(k=["a", "b", "c"]), "k", None, high=0)
    assert list(first.fids) == [1, 2, 3] and first.fid_high == 3
    second = plan_fids(frame(k=["d", "c", "a"]), "k", {"a": 1, "b": 2, "c": 3}, high=3)
    assert list(second.fids) == [4, 3, 1] and second.max_fid == 4 and second.fid_high == 4
    assert "2 features kept their ids, 1 are new, 1 are no longer" in second.notes[0]
    third = plan_fids(frame(k=["b", "e"]), "k", {"d": 4, "c": 3, "a": 1}, high=4)
    assert list(third.fids) == [5, 6], "b was removed: it comes back as a new feature"
    positional = plan_fids(frame(k=["x", "y"]), "", {}, high=6)
    assert list(positional.fids) == [1, 2] and "positions in the file" in positional.notes[0]
