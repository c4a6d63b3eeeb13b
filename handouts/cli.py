"""Command line: `python build.py [build|check] [options]`.

Exit codes: 0 success; 1 problems were found (printed as path:line: message); 2 usage error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path

from . import builder
from .plan import Selection
from .problems import Problem
from .render import Patient

ROOT = Path(__file__).resolve().parent.parent
EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="build.py", description="Build branded patient handouts (PDF) from reviewed Markdown content.")
    parser.add_argument("command", nargs="?", default="build", choices=["build", "check", "preflight"],
                        help="build: render PDFs (default); check: validate everything without rendering PDFs; "
                             "preflight: check produced PDFs as a print shop would")
    parser.add_argument("pdfs", nargs="*", type=Path, help="preflight only: PDFs to check (default: the manifest)")
    parser.add_argument("--clinic", help="only this clinic (folder name under content/clinics/)")
    parser.add_argument("--language", help="only this language, e.g. en")
    parser.add_argument("--condition", help="only this condition, e.g. acne-scars")
    parser.add_argument("--kind", help="only this kind of document, e.g. leaflet or consent")
    parser.add_argument("--variant", help="only this variant, e.g. screen")
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.add_argument("--format", choices=["text", "json"], default="text", help="how problems are printed")
    parser.add_argument("--output", type=Path, default=None, help="output folder (default: output/)")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--today", type=dt.date.fromisoformat, default=None,
                        help="the date review dates are checked against (default: today), YYYY-MM-DD")
    parser.add_argument("--patient", type=Path, default=None,
                        help="YAML file with patient details for a consent sheet (name, date_of_birth, "
                             "procedure, procedure_date, clinician)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    return parser


def _validate_selection(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Selection:
    import yaml
    catalogue_file = args.root / "content" / "catalogue.yaml"
    try:
        catalogue = yaml.safe_load(catalogue_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        catalogue = {}
    clinics = sorted(p.parent.name for p in (args.root / "content" / "clinics").glob("*/clinic.yaml"))
    for option, known in (("clinic", clinics), ("language", catalogue.get("languages")),
                          ("condition", catalogue.get("conditions")), ("kind", catalogue.get("kinds")),
                          ("variant", catalogue.get("variants"))):
        value = getattr(args, option)
        if value is not None and isinstance(known, list) and value not in known:
            parser.error(f"--{option} {value!r} is not one of: {', '.join(map(str, known))}")
    return Selection(args.clinic, args.language, args.condition, args.kind, args.variant)


def _patient(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Patient:
    if args.patient is None:
        return Patient()
    from . import yamlio
    from .problems import BuildError
    try:
        data = yamlio.load(args.patient, str(args.patient))
    except (OSError, BuildError) as exc:
        parser.error(f"--patient: {exc}")
    fields = {k: (None if v is None else str(v)) for k, v in (data or {}).items()}
    unknown = set(fields) - set(Patient.__dataclass_fields__)
    if unknown:
        parser.error(f"--patient {args.patient}: unknown keys {', '.join(sorted(unknown))}")
    return Patient(**fields)


def _print_report(outcome: builder.Outcome, fmt: str) -> None:
    if fmt == "json":
        print(json.dumps({"ok": outcome.ok, "problems": [p.as_dict() for p in outcome.problems],
                          "built": outcome.built, "failed": outcome.failed,
                          "documents": [asdict(row) for row in outcome.documents]}, indent=2))
        return
    for problem in outcome.problems:
        print(problem.format(), file=sys.stderr)
    if outcome.documents:
        print(_table(outcome.documents))


def _table(rows: list) -> str:
    header = ("document", "grade", "ease", "words", "review due", "warnings", "errors")
    lines = [(f"{r.language} {r.country} {r.condition} {r.kind}", f"{r.grade:.1f}", f"{r.ease:.0f}", str(r.words),
              r.review_due, str(r.warnings), str(r.errors)) for r in rows]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    def fmt(cells: tuple) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([fmt(header), "  ".join("-" * w for w in widths), *map(fmt, lines)])


def _preflight(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    output = args.output or args.root / "output"
    try:
        report, problems = builder.preflight_outputs(args.root, output, args.pdfs or None)
    except ValueError as exc:
        parser.error(str(exc))
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        for problem in problems:
            print(problem.format(), file=sys.stderr)
        print(f"preflight: {report['passed']} passed, {report['failed']} failed "
              f"(details in {output / 'preflight.json'})")
    return EXIT_PROBLEMS if problems else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    args.root = args.root.resolve()
    selection = _validate_selection(args, parser)
    today = args.today or dt.date.today()
    if args.pdfs and args.command != "preflight":
        parser.error("PDF paths are taken by the preflight command only")
    if args.command == "preflight":
        return _preflight(args, parser)
    if args.command == "check":
        outcome = builder.check(args.root, selection, today, args.strict)
    else:
        output = args.output or args.root / "output"
        outcome = builder.build(args.root, output, selection, today, args.strict, _patient(args, parser))
        if not args.quiet:
            logging.getLogger(__name__).info("%d built, %d failed", len(outcome.built), len(outcome.failed))
    _print_report(outcome, args.format)
    return EXIT_OK if outcome.ok else EXIT_PROBLEMS


if __name__ == "__main__":
    sys.exit(main())
