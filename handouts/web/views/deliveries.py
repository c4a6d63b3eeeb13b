"""The print shop's page: the deliveries of print masters (output/deliveries/, see handouts/deliver.py) that concern
its clinics, newest first, each with its changelog and a download.

A print shop downloads a zip made in memory that holds only its clinics' masters, their CHANGES.txt lines and
their part of manifest.json, with fixed member dates, so the same delivery always gives the same bytes; an
administrator downloads the delivery as it was made. Only a zip the ledger lists, by its own name, inside
output/deliveries through no link, is ever opened; every download is audited."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from ...deliver import FIXED_TIME, ZIP_NAME, changes_entries, history
from ...publish import document_path, inside
from .. import audit, pipeline
from ..access import clinics_for, role
from ..access import require
from ..models import ADMIN, PRINT_SHOP


def _clinic(path: str) -> str:
    return path.split("/", 1)[0]


def _listed(user) -> tuple[list[dict], set[str], bool]:
    """The deliveries `user` may see, newest first, each with the paths that concern them; their clinics; whether
    they see everything (an administrator)."""
    deliveries, _ = history(pipeline.output_dir())
    everyone = role(user) == ADMIN
    mentioned = sorted({_clinic(p) for d in deliveries for key in ("new", "changed", "withdrawn") for p in d[key]})
    mine = set(clinics_for(user, sorted(set(mentioned) | set(pipeline.clinic_ids()))))
    shown = []
    for delivery in deliveries:
        own = {key: [p for p in delivery[key] if everyone or _clinic(p) in mine]
               for key in ("new", "changed", "withdrawn")}
        if everyone or any(own.values()):
            shown.append({**delivery, **own, "name": delivery["zip"].removeprefix("deliveries/")})
    return shown, mine, everyone


def _bundle(name: str) -> Path | None:
    """The delivery zip of that name, if the ledger lists it and it is a regular file inside output/deliveries."""
    relative = f"deliveries/{name}"
    if not ZIP_NAME.fullmatch(name) or not inside(pipeline.output_dir(), relative):
        return None
    return pipeline.output_dir() / relative


def _changes(bundle: Path, keep) -> str:
    """The CHANGES.txt of a delivery, with only the entries whose document `keep` accepts."""
    try:
        with zipfile.ZipFile(bundle) as opened:
            text = opened.read("CHANGES.txt").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return ""
    heading, entries = changes_entries(text)
    return "\n".join([*heading, *(e for e in entries if keep(e.split("\n", 1)[0]))]).rstrip("\n") + "\n"


@require(PRINT_SHOP, ADMIN)
def page(request: HttpRequest) -> HttpResponse:
    shown, mine, everyone = _listed(request.user)
    items = []
    for delivery in shown:
        bundle = _bundle(delivery["name"])
        if bundle is None:
            continue
        keep = (lambda path: True) if everyone else (lambda path: _clinic(path) in mine)
        items.append({**delivery, "changes": _changes(bundle, keep),
                      "masters": len(delivery["new"]) + len(delivery["changed"]),
                      "kb": max(1, round(bundle.stat().st_size / 1024)) if everyone else None})
    library, _ = pipeline.loaded()
    names = [library.clinics[c].clinic.name if c in library.clinics else c for c in sorted(mine)]
    return render(request, "web/deliveries.html", {"deliveries": items, "clinics": names, "everyone": everyone})


def _filtered_zip(bundle: Path, mine: set[str]) -> tuple[bytes, int]:
    """The delivery with only the masters of `mine`, their CHANGES.txt entries and their manifest.json records."""
    keep = lambda path: _clinic(path) in mine            # noqa: E731
    with zipfile.ZipFile(bundle) as opened:
        listing = json.loads(opened.read("manifest.json"))
        listing["documents"] = [d for d in listing.get("documents", [])
                                if isinstance(d, dict) and document_path(d.get("path")) and keep(d["path"])]
        listing["withdrawn"] = [p for p in listing.get("withdrawn", []) if document_path(p) and keep(p)]
        listing["withdrawn_because"] = {p: why for p, why in (listing.get("withdrawn_because") or {}).items()
                                        if p in listing["withdrawn"]}
        members = [info.filename for info in opened.infolist()
                   if document_path(info.filename) and keep(info.filename)]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
            out.writestr(zipfile.ZipInfo("manifest.json", FIXED_TIME), json.dumps(listing, indent=2).encode())
            out.writestr(zipfile.ZipInfo("CHANGES.txt", FIXED_TIME), _changes(bundle, keep).encode())
            for member in members:
                out.writestr(zipfile.ZipInfo(member, FIXED_TIME), opened.read(member))
    return buffer.getvalue(), len(members)


@require(PRINT_SHOP, ADMIN)
def download(request: HttpRequest, name: str) -> HttpResponse:
    shown, mine, everyone = _listed(request.user)
    delivery = next((d for d in shown if d["name"] == name), None)
    bundle = _bundle(name) if delivery else None
    if bundle is None:
        raise Http404()
    if everyone:
        size = bundle.stat().st_size
        response = FileResponse(bundle.open("rb"), as_attachment=True, filename=name,
                                content_type="application/zip")
        masters = len(delivery["new"]) + len(delivery["changed"])
    else:
        try:
            data, masters = _filtered_zip(bundle, mine)
        except (OSError, KeyError, ValueError, zipfile.BadZipFile):
            raise Http404() from None
        size = len(data)
        response = HttpResponse(data, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    audit.record(request.user, "delivery-download", clinic=",".join(sorted(mine)) if not everyone else "all",
                 document=name, detail=f"{masters} print masters, {size} bytes")
    return response
