"""YAML that remembers where each value came from, so every message can name a line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from . import files
from .problems import BuildError, Problem


class Located(dict):
    """A mapping that also knows the line of each key (1-based, in the file)."""

    lines: dict[Any, int]
    line: int


class LocatedList(list):
    lines: list[int]
    line: int


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml when available: much faster
    line_offset = 0

    def get_single_node(self) -> yaml.Node | None:
        """The document's nodes, refused if one is reached twice: that is an alias (`*name`), which this project's
        YAML never needs and which can make a small file expand without bound (a 'billion laughs'). The composed
        nodes are shared, not copied, so this walk stays as small as the file."""
        node = super().get_single_node()
        seen: set[int] = set()
        stack = [node] if node is not None else []
        while stack:
            item = stack.pop()
            if id(item) in seen:
                raise _AliasRefused()
            seen.add(id(item))
            if isinstance(item, yaml.MappingNode):
                stack.extend(part for pair in item.value for part in pair)
            elif isinstance(item, yaml.SequenceNode):
                stack.extend(item.value)
        return node


class _AliasRefused(yaml.YAMLError):
    pass


def _alias_line(text: str) -> int:
    """The line of the first alias in `text` (found again from the events: a composed alias keeps no mark)."""
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            return event.start_mark.line + 1
    return 1


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Located:
    loader.flatten_mapping(node)
    result = Located()
    result.lines = {}
    result.line = node.start_mark.line + 1 + loader.line_offset
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a single value, not a list or a mapping", key_node.start_mark) from None
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line + 1 + loader.line_offset
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LocatedList:
    result = LocatedList(loader.construct_object(child, deep=True) for child in node.value)
    result.lines = [child.start_mark.line + 1 + loader.line_offset for child in node.value]
    result.line = node.start_mark.line + 1 + loader.line_offset
    return result


def _construct_timestamp(loader: _Loader, node: yaml.ScalarNode) -> Any:
    """A date or time; one that cannot exist (2027-02-30) is a YAML error on its line, not a crash."""
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} is not a valid date ({exc})", node.start_mark) from None


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


class _TextDatesLoader(_Loader):
    """For a file whose reader checks its dates itself (the patient file): a date stays the text written."""


_TextDatesLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.constructor.SafeConstructor.construct_yaml_str)


def parse(text: str, path: str, first_line: int = 1, dates: bool = True) -> Any:
    """Parse YAML text that starts at `first_line` of the file `path`; raise BuildError with the line.
    With `dates=False`, a date is left as the text it was written as."""
    loader = (_Loader if dates else _TextDatesLoader)(text)
    loader.line_offset = first_line - 1
    try:
        return loader.get_single_data()
    except _AliasRefused:
        line = _alias_line(text) + first_line - 1
        raise BuildError([Problem(path, line, "YAML: aliases (*name) are not allowed; write the value out",
                                  "yaml")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line + first_line) if mark else first_line
        what = " ".join((exc.problem or exc.context or "invalid YAML").split())
        if "mapping values are not allowed" in what:     # e.g. `footer: Call: 01632`
            what += "; a value containing ': ' must be in quotes, e.g. key: \"Call: 01632\""
        raise BuildError([Problem(path, line, f"YAML: {what}", "yaml")]) from None
    except yaml.reader.ReaderError as exc:     # a character YAML does not allow (NUL, other controls)
        line = text.count("\n", 0, exc.position) + first_line
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise BuildError([Problem(path, line, f"YAML: character U+{code:04X} is not allowed", "yaml")]) from None
    except yaml.YAMLError as exc:
        message = " ".join(str(exc).split())
        raise BuildError([Problem(path, first_line, f"YAML: {message}", "yaml")]) from None
    except RecursionError:
        raise BuildError([Problem(path, first_line, "YAML: nested too deeply", "yaml")]) from None
    finally:
        loader.dispose()


def load(file: Path, shown_as: str, root: Path | None = None, limit: int = files.MAX_BYTES,
         dates: bool = True) -> Any:
    """Parse a YAML file read through `files.read_bytes`: a regular file (inside `root` when given) of at most
    `limit` bytes, refused unread otherwise; a byte order mark and CRLF accepted."""
    return parse(files.decode(files.read_bytes(file, shown_as, root, limit), shown_as), shown_as, dates=dates)


def line_of(data: Any, loc: tuple, default: int) -> int:
    """The line of the value at `loc` (a pydantic error location) inside located YAML data."""
    line = getattr(data, "line", default)
    node = data
    for part in loc:
        if isinstance(node, Located) and part in node:
            line = node.lines.get(part, line)
            node = node[part]
        elif isinstance(node, LocatedList) and isinstance(part, int) and part < len(node):
            line = node.lines[part]
            node = node[part]
        else:
            break
    return line
