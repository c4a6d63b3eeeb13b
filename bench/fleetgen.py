"""A fictional fleet of clinics, written into a scratch copy of the project for the fleet benchmark.

    from fleetgen import copy_project, generate
    root = copy_project(PROJECT, scratch / "project")
    fleet = generate(root, clinics=20, seed=14)      # fleet.documents == 600

Every clinic is invented and says so (`sample: true`, "fictional sample" in its footer); its telephone numbers come
from the ranges reserved for fiction (US (555) 010-0100 to 0199, UK 01632 960000 to 960999) and its addresses and
web sites use the reserved `.example` domain. The same seed gives the same fleet, byte for byte.

The scratch copy's clinics are replaced by the fleet and its catalogue is narrowed to a few conditions (every kind
and variant of them), so that each clinic contributes a fixed number of documents: clinics offering English only
and clinics offering English and Spanish alternate, and the four combinations of country and languages recur in
turn, so any four consecutive clinics are a fair sample of the whole fleet.
"""

from __future__ import annotations

import colorsys
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from handouts import contrast

FLEET_CONDITIONS = ("acne-scars", "pigmentation-disorders")

# Invented place names: a stem, an ending and a street.
STEMS = ("Alder", "Bramble", "Cobble", "Dunnock", "Elder", "Fernley", "Gorse", "Hazel", "Ivel", "Juniper",
         "Kestrel", "Larch", "Marram", "Nettle", "Osier", "Pebble", "Quillet", "Rowan", "Sedge", "Thistle", "Umber",
         "Vetch", "Wren", "Yarrow")
ENDINGS = ("brook", "combe", "dale", "field", "ford", "gate", "hurst", "mere", "stead", "ton", "wick", "worth")
STREETS = ("Lane", "Road", "Street", "Row", "Green", "Park", "Square", "Hill")
PRACTICES = {"US": ("Dermatology", "Skin Center", "Skin Clinic", "Skin Care"),
             "UK": ("Skin Clinic", "Dermatology", "Skin Centre", "Skin Practice")}
TOWNS = {"US": ("Springfield, ST 00000", "Riverton, ST 00001", "Fairview, ST 00002", "Greenville, ST 00003"),
         "UK": ("Ashbury, AB1 0XX", "Wexcombe, WX2 0XX", "Holmfirth Vale, HV3 0XX", "Carrow, CR4 0XX")}

# What each country's printing needs, as the sample clinics have it (content/profiles/profiles.yaml).
PAPER = {"US": "letter", "UK": "A4"}
PROFILE = {"US": "gracol2006", "UK": "fogra39"}
BLEED = {"US": "0.125in", "UK": "3mm"}

# Font pairs (body, headings) among the bundled families the samples use. The body stays Atkinson Hyperlegible:
# a wider body face would push the longest documents over their page limits.
FONT_PAIRS = (("Atkinson Hyperlegible", "Atkinson Hyperlegible"), ("Atkinson Hyperlegible", "Lexend"))

# The clinic's own words: how it supplies the treatment lawfully and what a course costs, in English and Spanish.
LEGAL_ROUTES = {
    "US": (("Only as part of a clinical trial run under an FDA investigational new drug application (IND) and "
            "approved by an institutional review board (IRB). You get the IND and ClinicalTrials.gov numbers in "
            "writing before you decide.",
            "Solo como parte de un ensayo clínico que se hace con un permiso de la FDA (llamado IND) y que aprobó "
            "un comité de ética (IRB). Antes de que usted decida, le damos por escrito los números del IND y de "
            "ClinicalTrials.gov."),
           ("Only inside an approved clinical trial: the FDA oversees it under an IND and an IRB reviews it. "
            "Before you agree to anything, we give you both trial numbers in writing.",
            "Solo dentro de un ensayo clínico aprobado: la FDA lo supervisa con un permiso IND y un comité de ética "
            "(IRB) lo revisa. Antes de que usted acepte nada, le damos por escrito los dos números del ensayo.")),
    "UK": (("Prepared for you alone under the hospital exemption, by a manufacturer with an MHRA licence, from "
            "cells processed at a site the HTA licenses. You get the licence numbers in writing before you decide.",
            "Se prepara solo para usted con la exención hospitalaria, por un fabricante con licencia de la MHRA, "
            "con células procesadas en un centro con licencia de la HTA. Antes de que usted decida, le damos por "
            "escrito los números de las licencias."),
           ("Only within a clinical trial that the MHRA has authorised and a research ethics committee has "
            "approved. We give you the trial's registry number in writing before you decide.",
            "Solo dentro de un ensayo clínico que la MHRA ha autorizado y que un comité de ética de la "
            "investigación ha aprobado. Antes de que usted decida, le damos por escrito el número de registro "
            "del ensayo.")),
}
CURRENCY = {"US": "$", "UK": "£"}


@dataclass(frozen=True)
class FleetClinic:
    id: str                         # its folder under content/clinics/
    name: str
    country: str
    languages: tuple[str, ...]
    documents: int                  # what the narrowed catalogue builds for it


@dataclass(frozen=True)
class Fleet:
    root: Path
    clinics: tuple[FleetClinic, ...]
    conditions: tuple[str, ...]

    @property
    def documents(self) -> int:
        return sum(clinic.documents for clinic in self.clinics)


def copy_project(source: Path, destination: Path) -> Path:
    """A scratch copy of the project's content and templates (nothing else is needed to build)."""
    for name in ("content", "templates"):
        shutil.copytree(source / name, destination / name)
    return destination


def generate(root: Path, clinics: int, seed: int = 14, conditions: tuple[str, ...] = FLEET_CONDITIONS) -> Fleet:
    """Replace the scratch copy's clinics with `clinics` invented ones and narrow its catalogue to `conditions`."""
    if clinics < 1:
        raise ValueError("a fleet needs at least one clinic")
    per_language = _narrow_catalogue(root, conditions)
    folder = root / "content" / "clinics"
    shutil.rmtree(folder)
    folder.mkdir()
    rules = _contrast_rules(root)
    chooser = random.Random(seed)
    places = chooser.sample([(s, e, t) for s in STEMS for e in ENDINGS for t in STREETS], clinics)
    made = []
    for number, (stem, ending, street) in enumerate(places):
        country = "US" if number % 4 < 2 else "UK"
        languages = ("en", "es") if number % 2 == 0 else ("en",)
        practice = chooser.choice(PRACTICES[country])
        clinic = FleetClinic(_slug(f"{stem}{ending} {street} {country}"), f"{stem}{ending} {street} {practice}",
                             country, languages, per_language * len(languages))
        _write_clinic(folder / clinic.id, clinic, number, chooser, rules)
        made.append(clinic)
    return Fleet(root, tuple(made), conditions)


def _narrow_catalogue(root: Path, conditions: tuple[str, ...]) -> int:
    """Keep only `conditions` in the catalogue; returns the documents one clinic gets per language."""
    path = root / "content" / "catalogue.yaml"
    catalogue = yaml.safe_load(path.read_text(encoding="utf-8"))
    missing = [c for c in conditions if c not in catalogue["conditions"]]
    if missing:
        raise ValueError(f"not conditions of {path}: {', '.join(missing)}")
    catalogue["conditions"] = list(conditions)
    path.write_text("# Narrowed by bench/fleetgen.py for the fleet benchmark.\n"
                    + yaml.safe_dump(catalogue, sort_keys=False), encoding="utf-8")
    per_condition = 0
    for kind in catalogue["kinds"]:
        spec = yaml.safe_load((root / "content" / "kinds" / f"{kind}.yaml").read_text(encoding="utf-8"))
        allowed = spec.get("variants") or catalogue["variants"]
        per_condition += sum(1 for variant in catalogue["variants"] if variant in allowed)
    return per_condition * len(conditions)


ContrastRules = tuple[float, list[tuple[str, str]]]


def _contrast_rules(root: Path) -> ContrastRules:
    """The minimum contrast and the colour pairs it applies to, from the copy's content/policy/checks.yaml."""
    policy = yaml.safe_load((root / "content" / "policy" / "checks.yaml").read_text(encoding="utf-8"))
    return float(policy["contrast"]["minimum"]), [tuple(pair) for pair in policy["contrast"]["pairs"]]


def _slug(text: str) -> str:
    return "-".join(text.lower().split())


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(channel * 255):02x}" for channel in rgb)


def _colours(chooser: random.Random, rules: ContrastRules) -> dict[str, str]:
    """A dark primary, a light tint of it behind panels, near-black text on white: drawn until every pair the
    policy names has the contrast it asks for."""
    minimum, pairs = rules
    while True:
        hue = chooser.random()
        grey = chooser.randint(0x12, 0x24)
        colours = {"primary": _hex(colorsys.hls_to_rgb(hue, chooser.uniform(0.2, 0.38), chooser.uniform(0.3, 0.75))),
                   "accent": _hex(colorsys.hls_to_rgb(hue, chooser.uniform(0.89, 0.95), chooser.uniform(0.25, 0.6))),
                   "text": f"#{grey:02x}{grey:02x}{grey:02x}", "background": "#ffffff"}
        shown = {**colours, "white": "#ffffff"}
        if all(contrast.ratio(shown[fore], shown[back]) >= minimum for fore, back in pairs):
            return colours


def _cmyk(colour: str) -> list[int]:
    """A plain conversion to CMYK percentages: a real clinic's come from its print shop's proof."""
    r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    k = 1 - max(r, g, b)
    if k >= 1:
        return [0, 0, 0, 100]
    return [round(100 * (1 - channel - k) / (1 - k)) for channel in (r, g, b)] + [round(100 * k)]


def _mix(colour: str, share: float) -> str:
    """`colour` lightened towards white by `share`."""
    return _hex(tuple((int(colour[i:i + 2], 16) / 255) * (1 - share) + share for i in (1, 3, 5)))


def _logo(clinic: FleetClinic, colours: dict[str, str], fonts: tuple[str, str], paint) -> str:
    """A mark (the initial on a disc) and the name on two lines; `paint` turns an sRGB colour into an SVG fill."""
    words = clinic.name.split()
    place, practice = " ".join(words[:2]), " ".join(words[2:])
    body, headings = fonts
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 240 60" width="240" height="60" role="img" '
            f'aria-label="{clinic.name}">\n'
            f'  <circle cx="30" cy="30" r="26" fill="{paint(colours["primary"])}"/>\n'
            f'  <text x="30" y="39" text-anchor="middle" font-family="{headings}" font-size="26" font-weight="700" '
            f'fill="{paint("#ffffff")}">{clinic.name[0]}</text>\n'
            f'  <text x="66" y="27" font-family="{headings}" font-size="17" font-weight="700" '
            f'fill="{paint(colours["primary"])}">{place}</text>\n'
            f'  <text x="66" y="48" font-family="{body}" font-size="14" '
            f'fill="{paint(_mix(colours["primary"], 0.2))}">{practice}</text>\n'
            "</svg>\n")


def _device_cmyk(colour: str) -> str:
    return "device-cmyk(" + " ".join(f"{value / 100:g}" for value in _cmyk(colour)) + ")"


def _phone(country: str, number: int) -> str:
    """A number reserved for fiction, distinct within each country for the first 100 (US) or 1,000 (UK) clinics."""
    serial = (number // 4) * 2 + number % 2       # the clinic's place among its country's (they come in pairs)
    if country == "US":
        return f"(555) 010-{100 + serial % 100:04d}"
    return f"01632 960{serial % 1000:03d}"


class _Dumper(yaml.SafeDumper):
    """Lists on one line (colours, languages, address), mappings one key a line, as the sample clinics are written."""


_Dumper.add_representer(list, lambda dumper, data: dumper.represent_sequence("tag:yaml.org,2002:seq", data,
                                                                             flow_style=True))


def _write_clinic(folder: Path, clinic: FleetClinic, number: int, chooser: random.Random,
                  rules: ContrastRules) -> None:
    country = clinic.country
    colours = _colours(chooser, rules)
    fonts = chooser.choice(FONT_PAIRS)
    phone = _phone(country, number)
    domain = f"{clinic.id}.example"
    legal = chooser.choice(LEGAL_ROUTES[country])
    low = chooser.randint(25, 50) * 100
    high = low + chooser.randint(30, 60) * 100
    money = CURRENCY[country]
    data = {
        "sample": True,
        "name": clinic.name,
        "country": country,
        "paper": PAPER[country],
        "languages": list(clinic.languages),
        "logo": "logo.svg",
        "colours": colours,
        "fonts": {"body": fonts[0], "headings": fonts[1]},
        "contact": {"address": [f"{chooser.randint(2, 480)} {' '.join(clinic.name.split()[:2])}",
                                chooser.choice(TOWNS[country])],
                    "phone": phone, "email": f"hello@{domain}", "web": f"https://{domain}/"},
        "footer": f"{clinic.name} (fictional sample) · {phone}",
        "legal_route": legal[0],
        "cost_range": (f"From {money}{low:,} to {money}{high:,} for a course of treatment, follow-up visits "
                       "included. You get a written quote first."),
        "document_url": f"https://{domain}/handouts/{{language}}/{{condition}}-{{kind}}",
        "print": {"profile": PROFILE[country], "bleed": BLEED[country], "logo": "logo-print.svg", "crop_marks": True,
                  "colours": {key: [0, 0, 0, 95] if key == "text" else _cmyk(value) for key, value in colours.items()}},
    }
    if "es" in clinic.languages:
        data["translations"] = {"es": {
            "footer": f"{clinic.name} (clínica ficticia de ejemplo) · {phone}",
            "legal_route": legal[1],
            "cost_range": (f"De {money}{low:,} a {money}{high:,} por un tratamiento completo, con las visitas de "
                           "seguimiento. Primero le damos un presupuesto por escrito."),
        }}
    folder.mkdir()
    header = "# FICTIONAL SAMPLE CLINIC, generated by bench/fleetgen.py. It does not exist; its contact details use\n" \
             "# ranges reserved for fiction.\n"
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000)
    (folder / "clinic.yaml").write_text(header + text, encoding="utf-8")
    (folder / "logo.svg").write_text(_logo(clinic, colours, fonts, lambda colour: colour), encoding="utf-8")
    (folder / "logo-print.svg").write_text(_logo(clinic, colours, fonts, _device_cmyk), encoding="utf-8")
