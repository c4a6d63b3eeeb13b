"""Load stage: front matter, configuration and YAML errors are reported with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from handouts import content
from handouts.problems import BuildError
from helpers import VALID_FRONT, write_block


def messages(root: Path) -> list[str]:
    return [p.format() for p in content.load(root).problems]


def test_shipped_content_loads_without_problems() -> None:
    from conftest import ROOT
    assert messages(ROOT) == []


def test_valid_block_is_loaded(project: Path) -> None:
    write_block(project / "content/en/acne-scars", "extra.md", VALID_FRONT.replace("condition-risks", "evidence"))
    library = content.load(project)
    block = next(b for b in library.languages["en"].blocks if b.meta.id == "test-block")
    assert block.meta.role == "evidence"
    assert block.body_line == 14


@pytest.mark.parametrize("edit, line, expected", [
    (lambda f: f.replace('version: "1.0"\n', ""), 2, "missing key 'version'"),
    (lambda f: f + "colour: red\n", 13, "unknown key 'colour'"),
    (lambda f: f.replace("review_due: 2027-11-01", "review_due: soon"), 7, "'review_due': Input should be a valid date"),
    (lambda f: f.replace('version: "1.0"', "version: 1.0"), 5, "'version': Input should be a valid string"),
    (lambda f: f.replace("url: https://www.nhs.uk/conditions/acne/", "url: nhs dot uk"), 12, "'sources.0.url'"),
    (lambda f: f.replace("jurisdiction", "") + "jurisdiction: FR\n", 13, "'jurisdiction'"),
    (lambda f: f.replace("id: test-block", "id: Test Block"), 2, "'id': String should match pattern"),
])
def test_front_matter_errors_name_file_and_line(project: Path, edit, line: int, expected: str) -> None:
    write_block(project / "content/en/acne-scars", "broken.md", edit(VALID_FRONT.strip() + "\n"))
    found = [m for m in messages(project) if m.startswith("content/en/acne-scars/broken.md:")]
    assert len(found) == 1, found
    assert found[0].startswith(f"content/en/acne-scars/broken.md:{line}: schema: front matter: ")
    assert expected in found[0]


def test_yaml_syntax_error_names_the_line(project: Path) -> None:
    write_block(project / "content/en/acne-scars", "broken.md", VALID_FRONT.replace("title: A test block",
                                                                                     "title: [unclosed"))
    found = [m for m in messages(project) if "broken.md" in m]
    assert found and found[0].startswith("content/en/acne-scars/broken.md:4: yaml: YAML:")


def test_missing_front_matter_is_an_error(project: Path) -> None:
    file = project / "content/en/acne-scars/plain.md"
    file.write_text("Just text, no front matter.\n")
    assert "content/en/acne-scars/plain.md:1: schema: front matter: a block must start with '---'" in \
        "\n".join(messages(project))


def test_review_due_must_follow_last_reviewed(project: Path) -> None:
    write_block(project / "content/en/acne-scars", "dates.md",
                VALID_FRONT.replace("review_due: 2027-11-01", "review_due: 2026-10-01"))
    assert any("dates.md:7:" in m and "'review_due' must come after 'last_reviewed'" in m
               for m in messages(project))


def test_unknown_role_is_an_error(project: Path) -> None:
    write_block(project / "content/en/acne-scars", "role.md", VALID_FRONT.replace("condition-risks", "benefitz"))
    assert any(m.startswith("content/en/acne-scars/role.md:4: schema: front matter: role 'benefitz'")
               for m in messages(project))


def test_duplicate_block_id_is_an_error(project: Path) -> None:
    write_block(project / "content/en/acne-scars", "a.md", VALID_FRONT.replace("condition-risks", "evidence"))
    write_block(project / "content/en/acne-scars", "b.md", VALID_FRONT.replace("condition-risks", "evidence"))
    assert any("b.md:2:" in m and "id 'test-block' is already used" in m for m in messages(project))


def test_clinic_configuration_is_validated(project: Path) -> None:
    file = project / "content/clinics/fennick-street-uk/clinic.yaml"
    text = file.read_text().replace('primary: "#1d5c63"', "primary: teal").replace("paper: A4", "paper: A3")
    file.write_text(text)
    found = [m for m in messages(project) if "clinic.yaml" in m]
    lines = {int(m.split(":")[1]) for m in found}
    assert any("'paper'" in m for m in found) and any("'colours.primary'" in m and "teal" in m for m in found)
    paper_line = text.splitlines().index("paper: A3") + 1
    primary_line = next(i for i, l in enumerate(text.splitlines(), 1) if "primary: teal" in l)
    assert lines == {paper_line, primary_line}


def test_broken_catalogue_stops_the_load(project: Path) -> None:
    (project / "content/catalogue.yaml").write_text("languages: en\n")
    with pytest.raises(BuildError) as caught:
        content.load(project)
    text = str(caught.value)
    assert "content/catalogue.yaml:1: schema: catalogue: 'languages': Input should be a valid list" in text
    assert "missing key 'conditions'" in text
