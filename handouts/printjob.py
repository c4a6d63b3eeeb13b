"""What the print stage is given for one document: its HTML and how to print it. Plain data, so that the
process that renders HTML can hand it to a worker process without loading the printer itself."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from .content import Library
from .models import Clinic, CropMarks, Profile, Variant
from .plan import Job


@dataclass(frozen=True)
class PrintJob:
    """What the printer needs besides the HTML."""

    html: str
    families: tuple[str, ...]
    variant_name: str
    variant: Variant
    profile: Profile | None          # the clinic's CMYK profile, for variants in CMYK
    profile_file: Path | None
    digest: str                      # of the document's inputs: the PDF identifiers derive from it
    source: str                      # what messages name
    created: dt.date                 # from the content's review dates, never the clock
    crop_marks: CropMarks | None     # drawn outside the bleed after printing; None: no marks


def clinic_families(clinic: Clinic) -> list[str]:
    return [clinic.fonts.body, clinic.fonts.headings]


def crop_marks(clinic: Clinic, variant: Variant) -> CropMarks | None:
    """The crop marks a document gets: those of its variant (a print master's), unless the clinic turns them off."""
    return variant.crop_marks if clinic.print.crop_marks else None


def print_job(library: Library, job: Job, html: str, digest: str) -> PrintJob:
    """The print job for a planned document whose HTML has been rendered."""
    clinic = job.clinic
    variant = library.variants[job.variant]
    cmyk = variant.colour == "cmyk"
    return PrintJob(html=html, families=tuple(clinic_families(clinic.clinic)), variant_name=job.variant,
                    variant=variant, profile=library.profiles[clinic.clinic.print.profile] if cmyk else None,
                    profile_file=clinic.profile if cmyk else None, digest=digest, source=job.output,
                    created=job.last_reviewed, crop_marks=crop_marks(clinic.clinic, variant))
