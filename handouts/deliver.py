"""Print-shop delivery: a zip of the print masters that changed since the last delivery, with a manifest and a
readable changelog, recorded so that the next delivery carries only newer changes."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from .publish import Entry, Manifest, write_atomic

LEDGER = "deliveries/ledger.json"
FIXED_TIME = (2000, 1, 1, 0, 0, 0)     # zip member dates: the bundle's bytes depend on its contents only


@dataclass(frozen=True)
class Delivery:
    number: int
    zip_path: Path
    new: list[str]
    changed: list[str]
    withdrawn: list[str]

    @property
    def empty(self) -> bool:
        return not (self.new or self.changed or self.withdrawn)


def _load_ledger(output_dir: Path) -> dict:
    file = output_dir / LEDGER
    if file.is_file():
        return json.loads(file.read_text(encoding="utf-8"))
    return {"deliveries": [], "delivered": {}}


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


def deliver(output_dir: Path, today: dt.date) -> Delivery:
    """Bundle the print masters whose PDF differs from what was last delivered. Always writes a bundle (an empty
    one says so); the ledger is updated only after the zip is complete and in place."""
    manifest = Manifest.load(output_dir)
    manifest.keep_existing()
    ledger = _load_ledger(output_dir)
    recorded = {d["zip"] for d in ledger["deliveries"]}
    for orphan in (output_dir / "deliveries").glob("delivery-*.zip"):   # from a run killed before the ledger
        if f"deliveries/{orphan.name}" not in recorded:
            orphan.unlink()
    for partial in (output_dir / "deliveries").glob(".*.tmp"):           # from a run killed while writing
        partial.unlink()
    delivered: dict[str, dict] = ledger["delivered"]
    masters = {p: e for p, e in manifest.entries.items() if e.variant == "print"}
    new = sorted(p for p in masters if p not in delivered)
    changed = sorted(p for p in masters if p in delivered and delivered[p]["sha256"] != masters[p].sha256)
    withdrawn = sorted(p for p in delivered if p not in masters)
    number = len(ledger["deliveries"]) + 1
    name = f"deliveries/delivery-{number:04d}-{today.isoformat()}.zip"

    lines = [f"Delivery {number}, {today.isoformat()}", ""]
    if not (new or changed or withdrawn):
        lines.append("Nothing has changed since the last delivery: this bundle carries no print masters.")
    for path in new + changed:
        entry = masters[path]
        lines.append(f"{path}\n  version {entry.version}, review due {entry.review_due}, {entry.pages} pages\n"
                     f"  {_what_changed(delivered.get(path), entry)}")
    for path in withdrawn:
        lines.append(f"{path}\n  withdrawn: no longer produced; please destroy stock of it")
    listing = {"delivery": number, "date": today.isoformat(),
               "documents": [asdict(masters[p]) for p in new + changed], "withdrawn": withdrawn}

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for member, data in [("manifest.json", json.dumps(listing, indent=2).encode()),
                             ("CHANGES.txt", ("\n".join(lines) + "\n").encode())]:
            bundle.writestr(zipfile.ZipInfo(member, FIXED_TIME), data)
        for path in new + changed:
            bundle.writestr(zipfile.ZipInfo(path, FIXED_TIME), (output_dir / path).read_bytes())
    zip_path = write_atomic(output_dir, name, buffer.getvalue())

    for path in new + changed:
        delivered[path] = asdict(masters[path])
    for path in withdrawn:
        del delivered[path]
    ledger["deliveries"].append({"number": number, "date": today.isoformat(), "zip": name,
                                 "new": new, "changed": changed, "withdrawn": withdrawn})
    write_atomic(output_dir, LEDGER, (json.dumps(ledger, indent=2) + "\n").encode())
    return Delivery(number, zip_path, new, changed, withdrawn)
