"""The one way a content string takes values: `{name}` placeholders, with names from a fixed set for each use.

Content strings (strings.yaml, a clinic's document_url) are data, never code: Python's str.format would let
`{condition.__class__}` or `{condition[0]}` reach into objects, and a typo would raise at print time. Here a
placeholder is `{` + a lower-case name + `}`; any other brace, and any name outside the allowed set, is an error
found when the file is loaded.
"""

from __future__ import annotations

import re

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def problem(pattern: str, allowed: set[str] | frozenset[str]) -> str | None:
    """What is wrong with the placeholders of `pattern`, given the names it may use; None when nothing is."""
    for match in PLACEHOLDER.finditer(pattern):
        if match.group(1) not in allowed:
            names = ", ".join(f"{{{name}}}" for name in sorted(allowed)) or "none"
            return f"unknown placeholder {match.group(0)!r} (allowed here: {names})"
    rest = PLACEHOLDER.sub("", pattern)
    for brace in "{}":
        if brace in rest:
            at = rest.index(brace)
            return (f"a stray {brace!r} near {rest[max(0, at - 10):at + 11]!r}: a placeholder is a name in braces, "
                    "like {condition}, with nothing else inside")
    return None


def fill(pattern: str, **values: object) -> str:
    """`pattern` with each `{name}` replaced by str(values[name]). The pattern must have passed `problem`."""
    error = problem(pattern, set(values))
    if error:
        raise ValueError(error)
    return PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), pattern)
