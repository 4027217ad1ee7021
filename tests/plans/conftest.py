"""The shared national-model plan files, and a helper to import one through the services."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = next((folder / "shared" / "data" for folder in Path(__file__).resolve().parents
                    if (folder / "shared" / "data").is_dir()),
                   Path(__file__).resolve().parents[2].parent / "shared" / "data")
"""The shared real data beside the checkout (found from a worktree too)."""
RYHTI_FOLDER = "fi_ryhti_kaava_json_examples"
NGP_FOLDER = "se_detaljplan_ngp_json_examples"
RYHTI_FILES = sorted(p.relative_to(SHARED_DATA).as_posix()
                     for p in (SHARED_DATA / RYHTI_FOLDER).rglob("*.json")
                     ) if SHARED_DATA.is_dir() else []
NGP_FILES = sorted(p.relative_to(SHARED_DATA).as_posix()
                   for p in (SHARED_DATA / NGP_FOLDER).rglob("*.json")
                   ) if SHARED_DATA.is_dir() else []
PLOT_DIVISIONS = [f for f in RYHTI_FILES if Path(f).name.startswith("BindingPlotDivision")]
RYHTI_PLANS = [f for f in RYHTI_FILES if f not in PLOT_DIVISIONS]
DP225 = f"{NGP_FOLDER}/dp225.json"
CATALOGUE = "se_boverket_planbestammelsekatalog/katalog_urval.json"
PALETTE = "fi_kuntaliitto_kaavamerkinnat_styles/kaavamerkinnat_derived.csv"
PLAN_DATA = frozenset({*RYHTI_FILES, *NGP_FILES, CATALOGUE, PALETTE})
"""Shared data files the tests in tests/plans import or check."""
KOHDISTUS = (f"{RYHTI_FOLDER}/json-esimerkit/kaavoitus/sallittuKerrosala/"
             "SpatialPlan-kayttotarkoituskohdistus.json")


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared real data (plan files are only read, never opened for writing)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the shared real data are not at {SHARED_DATA}")
    return SHARED_DATA
