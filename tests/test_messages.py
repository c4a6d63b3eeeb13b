"""Every bad input ends in one line `path:line: rule: message` and exit 1 (or a usage error and exit 2), never a
Python traceback: each case breaks a scratch copy of the project, runs `build.py check` (or, for what only shows
while printing, a filtered build of one document) and asserts the exact prefix of its own message."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import pytest

from conftest import ROOT
from handouts.files import MAX_BYTES

BLOCK = "content/en/acne-scars/evidence.md"                 # used by the consent sheet
OVERVIEW = "content/en/acne-scars/condition-overview.md"    # used by the leaflet
CONDITION = "content/en/acne-scars/condition.yaml"
STRINGS = "content/en/strings.yaml"
CLINIC = "content/clinics/fennick-street-uk/clinic.yaml"
# `check` loads and checks everything whatever the selection; the selection only narrows the documents rendered
CHECK = ["check", "--clinic", "fennick-street-uk", "--condition", "acne-scars"]
ONE_LEAFLET = ["--clinic", "fennick-street-uk", "--condition", "acne-scars", "--kind", "leaflet",
               "--variant", "screen"]


def run(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "build.py"), "--root", str(project), "--today", "2026-11-24",
                           *args], capture_output=True, text=True, cwd=project, timeout=180)


# --- ways to break a file; each returns the line its message must name ------------------------------------------

def append(relative: str, text: str | bytes, line: int | None = None) -> Callable[[Path], int]:
    """Add lines at the end of a file; the message names the first added line that is not blank (or `line`)."""
    def apply(project: Path) -> int:
        file = project / relative
        data = file.read_bytes()
        added = text if isinstance(text, bytes) else text.encode()
        file.write_bytes(data + added)
        return line or data.count(b"\n") + 1 + len(added) - len(added.lstrip(b"\n"))
    return apply


def replace_line(relative: str, starts: str, new: str | bytes) -> Callable[[Path], int]:
    """Replace the first line starting with `starts`; the message names that line."""
    def apply(project: Path) -> int:
        file = project / relative
        lines = file.read_bytes().split(b"\n")
        number = next(i for i, line in enumerate(lines) if line.startswith(starts.encode()))
        lines[number] = new if isinstance(new, bytes) else new.encode()
        file.write_bytes(b"\n".join(lines))
        return number + 1
    return apply


def replace_file(relative: str, make: Callable[[Path], None], line: int = 1) -> Callable[[Path], int]:
    def apply(project: Path) -> int:
        file = project / relative
        if file.is_dir() and not file.is_symlink():
            file.rmdir()
        elif file.exists() or file.is_symlink():
            file.unlink()
        make(file)
        return line
    return apply


def write(data: bytes) -> Callable[[Path], None]:
    return lambda file: file.write_bytes(data)


def device(file: Path) -> None:
    try:
        os.mknod(file, stat.S_IFCHR | 0o644, os.makedev(1, 5))      # what /dev/zero is
    except PermissionError:
        pytest.skip("making a device node needs root")


def condition_folder_outside(project: Path) -> int:
    """A condition's folder moved out of the project and linked back in: its blocks lead outside."""
    folder = project / "content/en/acne-scars"
    folder.rename(project.parent / "acne-scars")
    folder.symlink_to(project.parent / "acne-scars")
    return 1


def block_with(body: str) -> Callable[[Path], int]:
    """A line of raw body added to the leaflet's first block; the message names it."""
    return append(OVERVIEW, f"\n{body}\n")


# (id, how to break the project, command line, the file the message names, its rule)
CASES: list[tuple[str, Callable[[Path], int], list[str], str, str]] = [
    # impossible dates, in a block's front matter and in any YAML file
    ("date-in-block", replace_line(BLOCK, "review_due:", "review_due: 2027-02-30"), CHECK, BLOCK, "yaml"),
    ("date-in-condition", append(CONDITION, "reviewed: 2027-02-30\n"), CHECK, CONDITION, "yaml"),
    ("date-in-clinic", append(CLINIC, "opened: 2026-13-01\n"), CHECK, CLINIC, "yaml"),
    # invalid UTF-8: the line of the first bad byte
    ("utf8-block", append(BLOCK, b"\nBad \xff\xfe byte.\n"), CHECK, BLOCK, "encoding"),
    ("utf8-block-after-bom", lambda p: (write(b"\xef\xbb\xbf" + (p / BLOCK).read_bytes())(p / BLOCK),
                                        append(BLOCK, b"caf\xe9\n")(p))[1], CHECK, BLOCK, "encoding"),
    ("utf8-yaml", append(STRINGS, b"extra: \"caf\xe9\"\n"), CHECK, STRINGS, "encoding"),
    ("utf8-template", replace_line("templates/leaflet.html", "{% block main %}", b"{% block main %}\xc3("),
     CHECK, "templates/leaflet.html", "encoding"),
    ("utf8-template-build", replace_line("templates/leaflet.html", "{% block main %}", b"{% block main %}\xc3("),
     ONE_LEAFLET, "templates/leaflet.html", "encoding"),
    ("binary-junk-block", replace_file(BLOCK, write(bytes(range(256)) * 8), line=2), CHECK, BLOCK, "encoding"),
    # YAML keys
    ("unhashable-key", append(CONDITION, "? [a, b]\n: 1\n"), CHECK, CONDITION, "yaml"),
    ("unhashable-flow-key", append(CLINIC, "extra: {[1]: x}\n"), CHECK, CLINIC, "yaml"),
    ("duplicate-key", replace_line(BLOCK, "reviewer:", "title: again"), CHECK, BLOCK, "yaml"),
    ("nul-in-yaml", append(CONDITION, 'x: "a\0b"\n'), CHECK, CONDITION, "yaml"),
    ("deep-yaml", append(CONDITION, "deep: " + "[" * 5000 + "]" * 5000 + "\n"), CHECK, CONDITION, "yaml"),
    # strings.yaml: only {name} with a name allowed for that string
    ("placeholder-typo", replace_line(STRINGS, "leaflet_title:", 'leaflet_title: "{conditon}: treatment"'),
     CHECK, STRINGS, "strings"),
    ("stray-open-brace", replace_line(STRINGS, "consent_title:", 'consent_title: "{condition: consent"'),
     CHECK, STRINGS, "strings"),
    ("stray-close-brace", replace_line(STRINGS, "page:", "page: Page}"), CHECK, STRINGS, "strings"),
    ("attribute-access", replace_line(STRINGS, "leaflet_title:", 'leaflet_title: "{condition.__class__}"'),
     CHECK, STRINGS, "strings"),
    ("index-access", replace_line(STRINGS, "leaflet_title:", 'leaflet_title: "{condition[0]} x"'),
     CHECK, STRINGS, "strings"),
    ("format-spec", replace_line(STRINGS, "leaflet_given_text:", 'leaflet_given_text: "{title:>99999}"'),
     CHECK, STRINGS, "strings"),
    ("placeholder-in-label", replace_line(STRINGS, "phone:", "phone: Phone {condition}"),
     CHECK, STRINGS, "strings"),
    ("locale-unknown", replace_line(STRINGS, "html_lang:", "html_lang: {default: en, UK: en-QQQ}"),
     CHECK, STRINGS, "schema"),
    ("locale-without-default-build", replace_line(STRINGS, "html_lang:", "html_lang: {UK: en-GB, US: en-US}"),
     ONE_LEAFLET, STRINGS, "schema"),
    ("kind-title-not-a-string", replace_line("content/kinds/leaflet.yaml", "title:", "title: no_such_title"),
     CHECK, "content/kinds/leaflet.yaml", "schema"),
    # templates
    ("jinja-syntax-check", replace_line("templates/leaflet.html", "{% block main %}", "{% block main %}{% if %}"),
     CHECK, "templates/leaflet.html", "template"),
    ("jinja-syntax-build", replace_line("templates/leaflet.html", "{% block main %}", "{% block main %}{% if %}"),
     ONE_LEAFLET, "templates/leaflet.html", "template"),
    ("jinja-syntax-partial-build", append("templates/partials/section.html", "{{ section.html }\n"),
     ONE_LEAFLET, "templates/partials/section.html", "template"),
    ("template-runtime-error", replace_line("templates/leaflet.html", "{% block main %}", "{% block main %}{{ 1 // 0 }}"),
     ONE_LEAFLET, "templates/leaflet.html", "template"),
    ("template-fifo-build", replace_file("templates/leaflet.html", os.mkfifo), ONE_LEAFLET,
     "templates/leaflet.html", "file"),
    # the catalogue: check prints its problems and exits 1
    ("catalogue-bad-yaml", append("content/catalogue.yaml", "kinds: [a, b]]\n"), ["check"],
     "content/catalogue.yaml", "yaml"),
    ("catalogue-unknown-key", append("content/catalogue.yaml", "clinics: [x]\n"), ["check"],
     "content/catalogue.yaml", "schema"),
    ("catalogue-missing", replace_file("content/catalogue.yaml", lambda f: None), ["check"],
     "content/catalogue.yaml", "file"),
    ("catalogue-fifo", replace_file("content/catalogue.yaml", os.mkfifo), CHECK, "content/catalogue.yaml", "file"),
    ("catalogue-fifo-build", replace_file("content/catalogue.yaml", os.mkfifo), ONE_LEAFLET,
     "content/catalogue.yaml", "file"),
    ("catalogue-a-list", replace_file("content/catalogue.yaml", write(b"- en\n- acne-scars\n")), ["check"],
     "content/catalogue.yaml", "schema"),
    # blocks that are not plain files, or too large: refused, never read
    ("block-fifo", replace_file(BLOCK, os.mkfifo), CHECK, BLOCK, "file"),
    ("block-fifo-build", replace_file(OVERVIEW, os.mkfifo), ONE_LEAFLET, OVERVIEW, "file"),
    ("block-device", replace_file(BLOCK, device), CHECK, BLOCK, "file"),
    ("block-directory", replace_file("content/en/acne-scars/notes.md", lambda f: f.mkdir()), CHECK,
     "content/en/acne-scars/notes.md", "file"),
    ("block-symlink-outside", replace_file(BLOCK, lambda f: f.symlink_to("/etc/passwd")), CHECK, BLOCK, "file"),
    ("block-symlink-to-device", replace_file(BLOCK, lambda f: f.symlink_to("/dev/zero")), CHECK, BLOCK, "file"),
    ("condition-folder-linked-outside", condition_folder_outside, CHECK, BLOCK, "file"),
    ("block-dangling-symlink", replace_file(BLOCK, lambda f: f.symlink_to(f.parent / "nowhere.md")), CHECK,
     BLOCK, "file"),
    ("block-too-large", append(BLOCK, "\nWord. " * (MAX_BYTES // 6), line=1), CHECK, BLOCK, "file"),
    ("block-empty", replace_file(BLOCK, write(b"")), CHECK, BLOCK, "schema"),
    ("front-matter-a-list", replace_file(BLOCK, write(b"---\n- a\n- b\n---\nText.\n")), CHECK, BLOCK, "schema"),
    ("front-matter-a-string", replace_file(BLOCK, write(b"---\njust words\n---\nText.\n")), CHECK, BLOCK,
     "schema"),
    ("clinic-a-directory", replace_file(CLINIC, lambda f: f.mkdir()), CHECK, CLINIC, "file"),
    ("clinic-fifo", replace_file(CLINIC, os.mkfifo), CHECK, CLINIC, "file"),
    ("condition-fifo", replace_file(CONDITION, os.mkfifo), CHECK, CONDITION, "file"),
    ("strings-too-large", append(STRINGS, "# " + "x" * MAX_BYTES + "\n", line=1), CHECK, STRINGS, "file"),
    ("policy-fifo", replace_file("content/policy/checks.yaml", os.mkfifo), CHECK, "content/policy/checks.yaml",
     "file"),
    # raw HTML that would fetch or attach is removed by the sanitiser and reported on its block line
    ("raw-html-img-outside", block_with('<img src="file:///etc/hostname" alt="A file">'), ONE_LEAFLET, OVERVIEW,
     "raw-html"),
    ("markdown-img-remote", block_with("![A chart](https://example.com/chart.png)"), ONE_LEAFLET, OVERVIEW,
     "raw-html"),
    ("attachment", block_with('<a rel="attachment" href="https://www.nhs.uk/">notes</a>'), ONE_LEAFLET, OVERVIEW,
     "raw-html"),
    # found only while printing: named by the block line, and the PDF
    ("weasyprint-warning", block_with("![A missing chart](missing-chart.png)"), ONE_LEAFLET, OVERVIEW, "weasyprint"),
]


@pytest.mark.parametrize("break_it, args, path, rule", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_one_line_with_its_path_and_line(project: Path, break_it: Callable[[Path], int],
                                                      args: list[str], path: str, rule: str) -> None:
    line = break_it(project)
    result = run(project, *args)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output and "internal error" not in output, output
    prefix = f"{path}:{line}: {rule}: "
    found = [text for text in result.stderr.splitlines() if text.startswith(prefix)]
    assert found, f"no line starts with {prefix!r}:\n{output}"
    if args != CHECK and rule in ("fetch", "weasyprint"):       # found while printing: the PDF is named too
        assert f"{rule}: fennick-street-uk/en/acne-scars-leaflet-screen.pdf: " in found[0], found


def test_a_huge_data_uri_is_quoted_in_a_few_dozen_characters(project: Path) -> None:
    uri = "data:image/png;base64," + "QUFB" * 50_000           # 200 KB: within the block limit
    line = block_with(f'<img alt="A chart" src="{uri}">')(project)
    result = run(project, *ONE_LEAFLET)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = [text for text in result.stderr.splitlines() if "data:image/png" in text]
    assert lines and all(len(text) < 250 for text in lines), lines
    assert lines[0].startswith(f"{OVERVIEW}:{line}: ")
    assert len(result.stderr) < 5_000


def _job_with(body: str) -> SimpleNamespace:
    block = SimpleNamespace(body=body, path=OVERVIEW, body_line=20)
    return SimpleNamespace(sections=[SimpleNamespace(block=block)], output="uk/en/acne-scars-leaflet-screen.pdf")


@pytest.mark.parametrize("body, message, rule", [
    ('Intro.\n<img src="file:///etc/hostname" alt="x">', "refused fetch: file:///etc/hostname", "fetch"),
    ("Intro.\n![x](https://example.com/a.png)", "refused fetch: https://example.com/a.png", "fetch"),
    ('Intro.\n<A REL="Attachment" HREF="https://www.nhs.uk/">x</A>', "attachments are not allowed in a handout",
     "fetch"),
    ('Intro.\n<p style="colr: red">x</p>', "WeasyPrint: Ignored `colr: red` at 1:1, unknown property.",
     "weasyprint"),
    ('Intro.\n<img alt="x" src="data:image/png;base64,' + "QUFB" * 50_000 + '">',
     "refused fetch: data:image/png;base64," + "QUFB" * 50_000, "fetch"),
])
def test_a_printing_problem_names_the_block_line_and_the_pdf(body: str, message: str, rule: str) -> None:
    """Whatever still reaches the printer (the sanitiser removes most of it first) names the block line."""
    from handouts.problems import Problem
    from handouts.worker import locate
    job = _job_with(body)
    [found] = locate([Problem(job.output, 1, message, rule)], job)
    text = found.format()
    assert text.startswith(f"{OVERVIEW}:21: {rule}: {job.output}: "), text
    assert len(text) < 250


def test_a_printing_problem_no_block_caused_names_the_pdf_once() -> None:
    from handouts.problems import Problem
    from handouts.worker import locate
    job = _job_with("Plain words.")
    [found] = locate([Problem(job.output, 1, "WeasyPrint: something odd", "weasyprint")], job)
    assert found.format() == f"{job.output}:1: weasyprint: WeasyPrint: something odd"


def test_a_long_link_is_quoted_short(project: Path) -> None:
    line = block_with(f"[notes](ftp://example.com/{'a' * 5000})")(project)
    result = run(project, *CHECK)
    found = [text for text in result.stderr.splitlines() if text.startswith(f"{OVERVIEW}:{line}: link: ")]
    assert result.returncode == 1 and found and len(found[0]) < 250, result.stderr


def _bom_and_crlf(project: Path) -> None:
    for relative in (BLOCK, OVERVIEW, CONDITION, STRINGS, CLINIC, "templates/leaflet.html"):
        file = project / relative
        file.write_bytes(b"\xef\xbb\xbf" + file.read_bytes().replace(b"\n", b"\r\n"))


def test_bom_and_crlf_are_accepted(project: Path) -> None:
    _bom_and_crlf(project)
    result = run(project, *CHECK)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_a_symlink_inside_the_project_is_read(project: Path) -> None:
    (project / "elsewhere").mkdir()
    (project / BLOCK).rename(project / "elsewhere/evidence.md")
    (project / BLOCK).symlink_to(project / "elsewhere/evidence.md")
    result = run(project, *CHECK)
    assert result.returncode == 0, result.stderr


def test_an_impossible_date_on_the_command_line_is_a_usage_error(project: Path) -> None:
    result = run(project, "check", "--today", "2027-02-30")
    assert result.returncode == 2 and "usage:" in result.stderr and "Traceback" not in result.stderr


def test_content_strings_are_filled_without_str_format() -> None:
    from handouts.fill import fill, problem
    assert fill("{condition}: care", condition="Acne") == "Acne: care"
    assert fill("{a}{a}", a="x") == "xx"
    for bad in ("{condition.__class__}", "{condition[0]}", "{condition!r}", "{condition:>9}", "{}", "{{x}}",
                "a } b", "{conditon}"):
        assert problem(bad, {"condition"}), bad
        with pytest.raises(ValueError):
            fill(bad, condition="x")


def test_a_clinic_folder_whose_name_is_no_id_is_refused(project: Path) -> None:
    """The folder's name is the clinic's id and the first part of its PDFs' paths: 'My Clinic' would make paths
    the manifest cannot hold."""
    import shutil
    shutil.copytree(project / "content/clinics/fennick-street-uk", project / "content/clinics/My Clinic")
    result = run(project, "check")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert ("content/clinics/My Clinic/clinic.yaml:1: schema: clinic: the folder name 'My Clinic' is the clinic's "
            "id: lower-case letters, digits and hyphens only") in result.stderr.splitlines()
