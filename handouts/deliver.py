"""Print-shop delivery: a zip of the print masters that changed since the last delivery, with a manifest and a
readable changelog, recorded so that the next delivery carries only newer changes.

What is read from the output folder (manifest.json, ledger.json, earlier zips) is data: a path that is not a
document of the catalogue's shape is ignored with a warning, never packed. No delivery zip is ever deleted."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from . import content
from .plan import unlisted_reason
from .problems import BuildError, Problem, relpath
from .publish import Entry, Manifest, document_path, inside, sha256, sweep_temporary, write_atomic

LEDGER = "deliveries/ledger.json"
ZIP_NAME = re.compile(r"delivery-(\d{4,})-[0-9-]+\.zip")
FIXED_TIME = (2000, 1, 1, 0, 0, 0)     # zip member dates: the bundle's bytes depend on its contents only


@dataclass(frozen=True)
class Delivery:
    number: int
    zip_path: Path
    new: list[str]
    changed: list[str]
    withdrawn: list[str]
    problems: list[Problem] = field(default_factory=list)     # warnings about what was read

    @property
    def empty(self) -> bool:
        return not (self.new or self.changed or self.withdrawn)


def _entry(item: object) -> dict | None:
    """A delivered document's record (from the ledger or an earlier zip), if it is one."""
    names = {f.name for f in fields(Entry)}
    if not isinstance(item, dict) or set(item) != names:
        return None
    if not document_path(item["path"], item["clinic"], item["language"], item["condition"], item["kind"],
                         item["variant"]):
        return None
    texts = ("sha256", "version", "review_due")
    if not all(isinstance(item[k], str) for k in texts) or not isinstance(item["inputs"], dict):
        return None
    return item


def _read_ledger(file: Path, shown: str, problems: list[Problem]) -> dict | None:
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
        deliveries, delivered = raw["deliveries"], raw["delivered"]
        if not (isinstance(deliveries, list) and isinstance(delivered, dict) and all(
                isinstance(d, dict) and type(d.get("number")) is int and isinstance(d.get("zip"), str)
                for d in deliveries)):
            raise TypeError("not a ledger")
    except (OSError, ValueError, TypeError, KeyError) as exc:
        problems.append(Problem(shown, 1, f"unreadable ({type(exc).__name__}); it is rebuilt from the delivery "
                                "zips, and none is deleted", "ledger", "warning"))
        return None
    kept = {}
    for path, item in delivered.items():
        if _entry(item) is not None and item["path"] == path:
            kept[path] = item
        else:
            problems.append(Problem(shown, 1, f"delivered document {str(path)[:80]!r} is not a document of the "
                                    "catalogue's shape; ignored", "ledger", "warning"))
    return {"deliveries": deliveries, "delivered": kept}


def _adopt(ledger: dict, bundle: Path, number: int, problems: list[Problem]) -> None:
    """Record in the ledger a delivery zip it does not list (the ledger was lost, or a run stopped before
    recording it), from the zip's own manifest.json."""
    shown = str(bundle)
    try:
        with zipfile.ZipFile(bundle) as opened:
            listing = json.loads(opened.read("manifest.json"))
        documents, withdrawn = listing["documents"], listing.get("withdrawn", [])
        if not isinstance(documents, list) or not isinstance(withdrawn, list):
            raise TypeError("not a delivery listing")
    except (OSError, ValueError, TypeError, KeyError, zipfile.BadZipFile) as exc:
        problems.append(Problem(shown, 1, f"not a delivery this tool can read ({type(exc).__name__}); kept, "
                                "not recorded", "ledger", "warning"))
        return
    new, changed, gone = [], [], []
    for item in documents:
        if _entry(item) is None:
            problems.append(Problem(shown, 1, "a document in its manifest.json is not of the catalogue's shape; "
                                    "ignored", "ledger", "warning"))
            continue
        (changed if item["path"] in ledger["delivered"] else new).append(item["path"])
        ledger["delivered"][item["path"]] = item
    for path in withdrawn:
        if document_path(path):
            ledger["delivered"].pop(path, None)
            gone.append(path)
    ledger["deliveries"].append({"number": number, "date": listing.get("date"), "zip": f"deliveries/{bundle.name}",
                                 "new": new, "changed": changed, "withdrawn": gone})
    problems.append(Problem(shown, 1, "was not in the ledger; recorded from its manifest.json", "ledger", "warning"))


def _load_ledger(output_dir: Path, problems: list[Problem]) -> dict:
    """The ledger, with every delivery zip it does not record added from the zip itself."""
    file = output_dir / LEDGER
    ledger = _read_ledger(file, str(file), problems) if file.exists() else None
    ledger = ledger or {"deliveries": [], "delivered": {}}
    recorded = {d["zip"] for d in ledger["deliveries"]}
    found = sorted((int(m[1]), p) for p in (output_dir / "deliveries").glob("delivery-*.zip")
                   if (m := ZIP_NAME.fullmatch(p.name)))
    for number, bundle in found:
        if f"deliveries/{bundle.name}" not in recorded and bundle.is_file() and not bundle.is_symlink():
            _adopt(ledger, bundle, number, problems)
    ledger["next"] = max([d["number"] for d in ledger["deliveries"]] + [n for n, _ in found] + [0]) + 1
    return ledger


def history(output_dir: Path) -> tuple[list[dict], list[Problem]]:
    """The deliveries made so far, newest first, as the ledger records them (with any delivery zip it does not list
    read from the zip itself), each {number, date, zip, new, changed, withdrawn}; only entries whose zip is a
    delivery's name in deliveries/ and whose paths are documents of the catalogue's shape. Nothing is written."""
    problems: list[Problem] = []
    ledger = _load_ledger(output_dir, problems)
    found = []
    for item in ledger["deliveries"]:
        bundle = item.get("zip")
        if not (isinstance(bundle, str) and bundle.startswith("deliveries/") and ZIP_NAME.fullmatch(bundle[11:])):
            continue
        lists = {key: [p for p in item.get(key) or [] if document_path(p)] for key in ("new", "changed", "withdrawn")}
        found.append({"number": item["number"], "date": item.get("date") if isinstance(item.get("date"), str) else "",
                      "zip": bundle, **lists})
    return sorted(found, key=lambda d: d["number"], reverse=True), problems


def changes_entries(text: str) -> tuple[list[str], list[str]]:
    """A delivery's CHANGES.txt as (its heading lines, its entries): each entry is a document's path on one line
    and what happened to it on the indented lines after."""
    heading: list[str] = []
    entries: list[str] = []
    for line in text.splitlines():
        if line.startswith("  ") and entries:
            entries[-1] += "\n" + line
        elif document_path(line.strip()):
            entries.append(line.strip())
        elif not entries:
            heading.append(line)
    return heading, entries


def _what_changed(old: dict | None, new: Entry) -> str:
    if old is None:
        return "new print master"
    changes = []
    if old["version"] != new.version:
        changes.append(f"version {old['version']} -> {new.version}")
    if old["review_due"] != new.review_due:
        changes.append(f"review due {old['review_due']} -> {new.review_due}")
    before, after = old.get("inputs", {}), new.inputs
    changed_inputs = sorted(k for k in after.keys() | before.keys() if before.get(k) != after.get(k))
    if changed_inputs:
        changes.append("changed: " + ", ".join(changed_inputs))
    return "; ".join(changes) or "rebuilt (same inputs)"


def _unlisted(library: content.Library, item: Entry | dict) -> str | None:
    get = (lambda k: item[k]) if isinstance(item, dict) else (lambda k: getattr(item, k))
    return unlisted_reason(library, *(get(k) for k in ("clinic", "language", "condition", "kind", "variant")))


def _read_masters(root: Path, output_dir: Path, masters: dict[str, Entry]) -> tuple[dict[str, bytes], list[Problem]]:
    """Every print master's bytes; each must be the file the build made: changed or deleted since is an error."""
    found, problems = {}, []
    for path, entry in sorted(masters.items()):
        shown = relpath(output_dir / path, root)
        if not inside(output_dir, path):
            problems.append(Problem(shown, 1, "the print master listed in manifest.json is missing (deleted after "
                                    "the build?); build again before delivering", "deliver"))
            continue
        found[path] = (output_dir / path).read_bytes()
        if sha256(found[path]) != entry.sha256:
            problems.append(Problem(shown, 1, "the print master was changed after the build (its sha256 differs "
                                    "from manifest.json); build again before delivering", "deliver"))
    return found, problems


def deliver(output_dir: Path, today: dt.date, root: Path) -> Delivery:
    """Bundle the print masters whose PDF differs from what was last delivered. Always writes a bundle (an empty
    one says so); the ledger is updated only after the zip is complete and in place. Raises BuildError, with
    nothing written, when the catalogue cannot be read or a master is not the file the build made."""
    library = content.load(root)               # to know which documents the catalogue no longer lists
    manifest = Manifest.load(output_dir)
    problems = list(manifest.problems)
    masters = {p: e for p, e in manifest.entries.items() if e.variant == "print" and not _unlisted(library, e)}
    pdfs, errors = _read_masters(root, output_dir, masters)
    if errors:
        raise BuildError(errors)
    sweep_temporary(output_dir / "deliveries")              # from a run killed while writing
    ledger = _load_ledger(output_dir, problems)
    delivered: dict[str, dict] = ledger["delivered"]
    new = sorted(p for p in masters if p not in delivered)
    changed = sorted(p for p in masters if p in delivered and delivered[p]["sha256"] != masters[p].sha256)
    # Withdrawn only when the catalogue no longer lists it; a document that merely failed or is not built stays.
    reasons = {p: why for p in delivered if p not in masters and (why := _unlisted(library, delivered[p]))}
    withdrawn = sorted(reasons)
    number = ledger.pop("next")
    name = f"deliveries/delivery-{number:04d}-{today.isoformat()}.zip"

    lines = [f"Delivery {number}, {today.isoformat()}", ""]
    if not (new or changed or withdrawn):
        lines.append("Nothing has changed since the last delivery: this bundle carries no print masters.")
    for path in new + changed:
        entry = masters[path]
        lines.append(f"{path}\n  version {entry.version}, review due {entry.review_due}, {entry.pages} pages\n"
                     f"  {_what_changed(delivered.get(path), entry)}")
    for path in withdrawn:
        lines.append(f"{path}\n  withdrawn: {reasons[path]}; please destroy stock of it")
    listing = {"delivery": number, "date": today.isoformat(),
               "documents": [asdict(masters[p]) for p in new + changed], "withdrawn": withdrawn,
               "withdrawn_because": reasons}

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for member, data in [("manifest.json", json.dumps(listing, indent=2).encode()),
                             ("CHANGES.txt", ("\n".join(lines) + "\n").encode())]:
            bundle.writestr(zipfile.ZipInfo(member, FIXED_TIME), data)
        for path in new + changed:
            if not document_path(path):                   # relative, of the catalogue's shape (checked on load)
                raise ValueError(f"not a document path: {path!r}")
            bundle.writestr(zipfile.ZipInfo(path, FIXED_TIME), pdfs[path])
    zip_path = write_atomic(output_dir, name, buffer.getvalue())

    for path in new + changed:
        delivered[path] = asdict(masters[path])
    for path in withdrawn:
        del delivered[path]
    ledger["deliveries"].append({"number": number, "date": today.isoformat(), "zip": name,
                                 "new": new, "changed": changed, "withdrawn": withdrawn})
    write_atomic(output_dir, LEDGER, (json.dumps(ledger, indent=2) + "\n").encode())
    return Delivery(number, zip_path, new, changed, withdrawn, problems)
