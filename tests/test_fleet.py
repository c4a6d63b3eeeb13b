"""The fleet benchmark's generator (bench/fleetgen.py): a fictional fleet that the checks accept as it is."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

from handouts import builder, content
from handouts.plan import Selection, plan

from conftest import ROOT, TODAY

sys.path.insert(0, str(ROOT / "bench"))
import fleetgen  # noqa: E402


def test_a_generated_fleet_passes_check_with_the_documents_it_promises(tmp_path: Path) -> None:
    root = fleetgen.copy_project(ROOT, tmp_path / "project")
    fleet = fleetgen.generate(root, clinics=3, seed=7)

    outcome = builder.check(root, Selection(), TODAY, strict=False)
    assert [p.format() for p in outcome.problems if p.severity == "error"] == []
    jobs = plan(content.load(root), Selection()).jobs
    # Two conditions, each 3 kinds x 3 variants + the online-only research: 20 a language; en+es, en, en+es.
    assert fleet.documents == len(jobs) == 100
    assert {job.clinic.id for job in jobs} == {clinic.id for clinic in fleet.clinics}
    assert sorted({job.condition_id for job in jobs}) == sorted(fleetgen.FLEET_CONDITIONS)


def test_the_clinics_are_distinct_and_say_they_are_fictional(tmp_path: Path) -> None:
    root = fleetgen.copy_project(ROOT, tmp_path / "project")
    fleet = fleetgen.generate(root, clinics=8, seed=7)

    names = [clinic.name for clinic in fleet.clinics]
    assert len(set(names)) == 8
    assert {clinic.country for clinic in fleet.clinics} == {"US", "UK"}
    assert {clinic.languages for clinic in fleet.clinics} == {("en",), ("en", "es")}
    assert sorted(p.name for p in (root / "content" / "clinics").iterdir()) == sorted(c.id for c in fleet.clinics)
    colours = set()
    for clinic in fleet.clinics:
        data = yaml.safe_load((root / "content" / "clinics" / clinic.id / "clinic.yaml").read_text(encoding="utf-8"))
        assert data["sample"] is True
        assert data["name"] == clinic.name
        assert data["footer"].startswith(f"{clinic.name} (fictional sample)")
        assert data["paper"] == {"US": "letter", "UK": "A4"}[clinic.country]
        phone = data["contact"]["phone"]
        assert re.fullmatch(r"\(555\) 010-01\d\d" if clinic.country == "US" else r"01632 960\d{3}", phone)
        assert data["contact"]["email"].endswith(".example")
        assert data["contact"]["web"].endswith(".example/")
        if "es" in clinic.languages:
            assert "ficticia" in data["translations"]["es"]["footer"]
        colours.add(data["colours"]["primary"])
    assert len(colours) == 8


def test_the_same_seed_gives_the_same_fleet(tmp_path: Path) -> None:
    def files(folder: Path) -> dict[str, bytes]:
        clinics = folder / "content" / "clinics"
        return {str(p.relative_to(clinics)): p.read_bytes() for p in sorted(clinics.rglob("*")) if p.is_file()}

    first = fleetgen.copy_project(ROOT, tmp_path / "one")
    second = fleetgen.copy_project(ROOT, tmp_path / "two")
    third = fleetgen.copy_project(ROOT, tmp_path / "three")
    fleetgen.generate(first, clinics=4, seed=3)
    fleetgen.generate(second, clinics=4, seed=3)
    fleetgen.generate(third, clinics=4, seed=4)
    assert files(first) == files(second)
    assert files(first) != files(third)
