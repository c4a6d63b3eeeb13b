"""The Spanish edition: Spanish documents in every variant hold no English wording, write their dates in Spanish
and say they are in Spanish; Spanish readability and overclaims are checked by Spanish rules."""

from __future__ import annotations

import re
from pathlib import Path

import pikepdf
import pytest
import yaml

from conftest import ROOT, Built
from handouts import checks, content
from handouts.readability import score, spanish_syllables
from helpers import text
from test_cli import run

US = "cedar-hollow-us"
CONDITIONS = ["acne-scars", "wrinkles-ageing-skin", "burns-wounds", "inflammatory-conditions",
              "pigmentation-disorders"]


def flat(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for v in value for item in flat(v)]
    if isinstance(value, dict):
        return [item for v in value.values() for item in flat(v)]
    return []


def english_wording() -> list[str]:
    """Every phrase the English templates and clinic print that Spanish says differently: each string of
    strings.yaml (placeholders cut out) and the clinic's own English words."""
    english = yaml.safe_load((ROOT / "content/en/strings.yaml").read_text(encoding="utf-8"))
    spanish = yaml.safe_load((ROOT / "content/es/strings.yaml").read_text(encoding="utf-8"))
    phrases = set()
    for key, value in english.items():
        if key == "html_lang" or value == spanish.get(key):
            continue
        for item in flat(value):
            for piece in re.split(r"\{[a-z]+\}", item):
                piece = piece.strip(" :,.")
                if len(piece.split()) >= 2:
                    phrases.add(piece)
    clinic = yaml.safe_load((ROOT / f"content/clinics/{US}/clinic.yaml").read_text(encoding="utf-8"))
    phrases |= {clinic["legal_route"][:60], clinic["cost_range"][:40], "fictional sample"}
    return sorted(phrases)


def sources_removed(words: str, library: content.Library, country: str) -> str:
    """The text without the cited works' titles, publishers and addresses: a source keeps its own language (and
    the PDF marks it so)."""
    for block in library.languages["es"].blocks:
        for source in block.meta.sources:
            for part in (source.title, source.publisher or "", str(source.url)):
                words = words.replace(" ".join(part.split()), " ")
    return words


ENGLISH_WORDS = re.compile(r"\b(the|and|your|you|with|this|that|what|which|treatment|doctor|risks?|skin|cells?|"
                           r"study|studies|page|version|review(ed)?|phone|email|signature|leaflet|form)\b", re.I)


@pytest.fixture(scope="module")
def library() -> content.Library:
    return content.load(ROOT)


@pytest.mark.parametrize("condition", CONDITIONS)
@pytest.mark.parametrize("kind", ["summary", "leaflet", "consent"])
def test_a_spanish_document_has_no_english_wording(built: Built, library: content.Library, condition: str,
                                                   kind: str) -> None:
    pdf = built.output / US / "es" / f"{condition}-{kind}-screen.pdf"
    words = " ".join(text(pdf).split())
    found = [phrase for phrase in english_wording() if " ".join(phrase.split()) in words]
    assert found == []
    # The control: the same search finds the English twin's wording, so it would find it here.
    twin = " ".join(text(built.output / US / "en" / f"{condition}-{kind}-screen.pdf").split())
    assert len([phrase for phrase in english_wording() if " ".join(phrase.split()) in twin]) >= 8
    assert len(ENGLISH_WORDS.findall(twin)) > 50
    # Beyond the templates: no English word at all, once the cited works (which keep their titles) are taken out.
    rest = sources_removed(words, library, "US")
    rest = re.sub(r"https://\S+|\S+@\S+", " ", rest)                 # addresses are not words
    rest = rest.replace("Cedar Hollow Dermatology", " ").replace("Cedar Hollow Road", " ")   # the clinic's name
    assert ENGLISH_WORDS.findall(rest) == []


@pytest.mark.parametrize("variant", ["print", "screen", "large-print"])
@pytest.mark.parametrize("kind", ["summary", "leaflet", "consent"])
def test_spanish_documents_exist_in_every_variant_say_they_are_spanish_and_date_in_spanish(
        built: Built, kind: str, variant: str) -> None:
    for condition in CONDITIONS:
        pdf = built.output / US / "es" / f"{condition}-{kind}-{variant}.pdf"
        with pikepdf.open(pdf) as doc:
            assert str(doc.Root.Lang) == "es-US"
        words = " ".join(text(pdf).split())
        assert re.search(r"Próxima revisión \d{1,2} de (enero|febrero|marzo|abril|mayo|junio|julio|agosto|"
                         r"septiembre|octubre|noviembre|diciembre) de 20\d\d", words), words[-400:]
        assert not re.search(r"\b(January|February|March|April|May|June|July|August|September|October|November|"
                             r"December)\b", words)
        assert "Página 1 de" in words


def test_sources_in_english_are_marked_as_english_in_a_spanish_document(built: Built) -> None:
    from handouts.builder import prepare
    from handouts.plan import Selection
    from handouts.render import Renderer
    from conftest import TODAY
    library, the_plan, _ = prepare(ROOT, Selection(US, "es", "acne-scars", "leaflet", "screen"), TODAY, False)
    html = Renderer(ROOT).render(library, the_plan.jobs[0])
    assert '<html lang="es-US">' in html
    items = re.findall(r'<li( lang="en")?>([^<]*)<a href', html)
    assert items and all(marked for marked, _ in items)


# --- Spanish checks ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("word, syllables", [
    ("gato", 2), ("pescado", 3), ("tratamiento", 4), ("células", 3), ("país", 2), ("día", 2), ("leer", 2),
    ("oír", 2), ("ahora", 3), ("aprobado", 4), ("muy", 1), ("hoy", 1), ("y", 1), ("guion", 1), ("ciudad", 2),
    ("pingüino", 3), ("Paraguay", 3), ("mesenquimales", 5), ("riesgo", 2), ("piel", 1),
])
def test_spanish_syllables_by_hand(word: str, syllables: int) -> None:
    assert spanish_syllables(word) == syllables


def test_spanish_readability_agrees_with_hand_computed_examples() -> None:
    # 8 words, 2 sentences, 14 syllables: El(1) ga-to(2) co-me(2) pes-ca-do(3). Su(1) due-ña(2) lo(1) mi-ra(2).
    easy = score(["El gato come pescado. Su dueña lo mira."], "es")
    assert (easy.words, easy.sentences, easy.syllables) == (8, 2, 14)
    assert easy.inflesz == pytest.approx(206.835 - 62.3 * 14 / 8 - 8 / 2)          # 93.81
    assert easy.fernandez_huerta == pytest.approx(206.84 - 60 * 14 / 8 - 1.02 * 8 / 2)   # 97.76
    # 12 words, 1 sentence, 35 syllables: La(1) ad-mi-nis-tra-ción(5) in-tra-ve-no-sa(5) de(1) cé-lu-las(3)
    # me-sen-qui-ma-les(5) au-tó-lo-gas(4) re-quie-re(3) e-va-lua-ción(4) in-mu-no-ló-gi-ca(6) pre-via(2)
    # in-di-vi-dua-li-za-da(7): 46 syllables in 12 words.
    hard = score(["La administración intravenosa de células mesenquimales autólogas requiere evaluación "
                  "inmunológica previa individualizada."], "es")
    assert (hard.words, hard.sentences, hard.syllables) == (12, 1, 46)
    assert hard.inflesz == pytest.approx(206.835 - 62.3 * 46 / 12 - 12)               # -43.98: very hard
    assert checks.inflesz_band(hard.inflesz) == "very hard" and checks.inflesz_band(easy.inflesz) == "very easy"
    assert [checks.inflesz_band(v) for v in (39.9, 40, 54.9, 55, 64.9, 65, 79.9, 80)] == [
        "very hard", "somewhat hard", "somewhat hard", "normal", "normal", "fairly easy", "fairly easy", "very easy"]


def test_a_hard_spanish_block_is_refused_by_the_inflesz_limit(project: Path) -> None:
    file = project / "content/es/shared/questions.md"
    body = file.read_text(encoding="utf-8")
    head, _, _ = body.partition("\n---\n")
    sentence = ("La administración intravenosa de células mesenquimales autólogas requiere evaluación "
                "inmunológica previa individualizada y consentimiento informado documentado. ")
    file.write_text(f"{head}\n---\n{sentence * 5}\n", encoding="utf-8")
    result = run(project, "check")
    assert result.returncode == 1
    line = len(head.splitlines()) + 2
    assert re.search(rf"content/es/shared/questions\.md:{line}: readability: INFLESZ -?\d+ \(very hard\) is below "
                     r"40: use shorter sentences", result.stderr), result.stderr
    assert "Fernandez-Huerta" in result.stderr and "Flesch-Kincaid" not in result.stderr


@pytest.mark.parametrize("written, found", [
    ("Los resultados están **garan**tizados.", "garantizados"),
    ("Le damos una GARANTIA por escrito.", "GARANTIA"),
    ("Es un tratamiento *sin  riesgos* para su piel.", "sin riesgos"),
    ("Los resultados\npermanentes llegan pronto.", "resultados permanentes"),
    ("Es un producto aprobado por la FDA.", "aprobado por la FDA"),
    ("Es un método clinicamente probado.", "clinicamente probado"),
    ("Un avance revolucionario.", "revolucionario"),
    ("Es un mila&#103;ro.", "milagro"),
])
def test_a_spanish_overclaim_is_refused_with_its_line(project: Path, written: str, found: str) -> None:
    file = project / "content/es/shared/questions.md"
    body = file.read_text(encoding="utf-8")
    head, _, rest = body.partition("\n---\n")
    file.write_text(f"{head}\n---\n{rest}\n{written}\n", encoding="utf-8")
    line = len(f"{head}\n---\n{rest}".splitlines()) + 2
    result = run(project, "check")
    assert result.returncode == 1
    assert f"content/es/shared/questions.md:{line}: overclaim: '{found}' overclaims: " in result.stderr, result.stderr


def test_english_overclaims_do_not_apply_to_spanish_and_spanish_ones_do_not_apply_to_english(project: Path) -> None:
    spanish = project / "content/es/shared/questions.md"
    spanish.write_text(spanish.read_text(encoding="utf-8") + "\nLa palabra inglesa proven no es un problema aquí.\n",
                       encoding="utf-8")
    english = project / "content/en/shared/questions.md"
    english.write_text(english.read_text(encoding="utf-8") + "\nA cura is a priest in Spanish.\n", encoding="utf-8")
    result = run(project, "check")
    assert "overclaim" not in result.stderr, result.stderr


def test_shipped_spanish_blocks_read_at_the_normal_level_or_easier(built: Built) -> None:
    """Every scored Spanish block is at INFLESZ 55 ("normal") or easier, as the policy warns below it."""
    outcome = run(ROOT, "check")
    assert "es/" not in "".join(line for line in outcome.stderr.splitlines() if "readability" in line)
    from handouts.builder import check
    from handouts.plan import Selection
    from conftest import TODAY
    rows = [row for row in check(ROOT, Selection(language="es"), TODAY, False).documents]
    assert len(rows) == 5 * 4 and all(row.scores["inflesz"] >= 55 for row in rows)
    # Spanish says the same in more words: its ranges are 1.2 x the English ones (policy/length.yaml languages:).
    assert {row.word_range for row in rows if row.kind == "leaflet"} == {(1680, 2280)}


def test_what_changed_notes_are_checked_for_overclaims_in_their_language(project: Path) -> None:
    """The notes a patient reads on the public page when their paper copy is older are patient text too."""
    for language, phrase in (("es", "Ahora el tratamiento está garantizado."), ("en", "It is now proven to work.")):
        file = project / f"content/{language}/acne-scars/condition.yaml"
        lines = file.read_text(encoding="utf-8").splitlines()
        number = next(i for i, line in enumerate(lines) if line.strip().startswith('"1.0":'))
        lines[number] = lines[number].replace('"1.0": "', f'"1.0": "{phrase} ', 1)
        file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run(project, "check")
    assert result.returncode == 1
    found = [line for line in result.stderr.splitlines() if "overclaim" in line]
    assert any(re.match(r"content/es/acne-scars/condition\.yaml:\d+: overclaim: 'garantizado' overclaims", line)
               for line in found), found
    assert any(re.match(r"content/en/acne-scars/condition\.yaml:\d+: overclaim: 'proven' overclaims", line)
               for line in found), found


def test_while_a_policy_file_has_errors_no_document_is_built(project: Path, tmp_path: Path) -> None:
    """A broken overclaim list would let every document through unchecked: instead each fails, naming the file."""
    (project / "content/policy/phrases.es.yaml").write_text("- phrase: milagro\n  instead:\n", encoding="utf-8")
    result = run(project, "build", "--output", str(tmp_path / "out"), "--clinic", "cedar-hollow-us",
                 "--condition", "acne-scars", "--kind", "summary", "--format", "json")
    assert result.returncode == 1
    import json
    summary = json.loads(result.stdout)
    assert len(summary["failed"]) == 6 and summary["added"] == []          # en and es, three variants each
    assert any(p["path"] == "content/policy/phrases.es.yaml" and p["line"] == 2 for p in summary["problems"])
