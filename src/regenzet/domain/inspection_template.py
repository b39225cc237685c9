"""Digital vehicle inspection templates: what a technician checks on an EV, kept as data.

The items themselves live in packaged JSON files (``templates/<code>_v<version>.json``), so a
workshop can revise its checklist without touching code. This module only knows the *shape* of
a template: it reads a file, refuses a malformed one loudly, and answers questions about items.

Inspections record only a template's code and version in their events and re-load the template
when they need it; a published version must therefore never be edited, only superseded by a new
version file.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

import attrs

from regenzet.domain.common import DomainValidationError, fail

_TEMPLATE_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_SECTION_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_ITEM_CODE = re.compile(r"^([a-z][a-z0-9_]{0,63})\.[a-z][a-z0-9_]{0,63}$")
_TEMPLATE_PACKAGE = "regenzet.domain"
_TEMPLATE_FOLDER = "templates"


class MalformedTemplateError(ValueError):
    """A packaged template file breaks the template format: a deployment bug, not user input."""

    def __init__(self, source: str, where: str, message: str) -> None:
        super().__init__(f"malformed inspection template {source} at {where}: {message}")
        self.source = source
        self.where = where
        self.message = message


@attrs.frozen
class TemplateItem:
    """One thing to check and rate green / amber / red / not applicable."""

    code: str
    title: str
    hv_system: bool
    required: bool
    recommended_job: str
    measurements: tuple[str, ...] = ()

    @property
    def section_code(self) -> str:
        return self.code.split(".", 1)[0]


@attrs.frozen
class TemplateSection:
    code: str
    title: str
    items: tuple[TemplateItem, ...]


@attrs.frozen
class InspectionTemplate:
    """A versioned checklist. Immutable; item codes are unique across the whole template."""

    code: str
    version: int
    title: str
    sections: tuple[TemplateSection, ...]
    _index: dict[str, TemplateItem] = attrs.field(
        init=False, repr=False, eq=False, hash=False, factory=dict
    )

    def __attrs_post_init__(self) -> None:
        index: dict[str, TemplateItem] = {}
        for section in self.sections:
            for item in section.items:
                if item.code in index:
                    raise MalformedTemplateError(
                        f"{self.code} v{self.version}", item.code, "duplicate item code"
                    )
                index[item.code] = item
        object.__setattr__(self, "_index", index)

    @property
    def items(self) -> list[TemplateItem]:
        """Every item, in checklist order."""
        return list(self._index.values())

    @property
    def required_codes(self) -> list[str]:
        """Codes of the items that must be rated before the inspection can be completed."""
        return [item.code for item in self._index.values() if item.required]

    def has_item(self, code: str) -> bool:
        return code in self._index

    def item(self, code: str) -> TemplateItem:
        try:
            return self._index[code]
        except (KeyError, TypeError):
            fail("item_code", f"{code!r} is not an item of template {self.code} v{self.version}")

    def section(self, code: str) -> TemplateSection:
        found = next((section for section in self.sections if section.code == code), None)
        if found is not None:
            return found
        raise DomainValidationError(
            "section_code", f"{code!r} is not a section of template {self.code} v{self.version}"
        )


def load_template(code: str = "ev_inspection", version: int = 1) -> InspectionTemplate:
    """Loads a packaged template by code and version (cached: templates never change)."""
    if not isinstance(code, str) or not _TEMPLATE_CODE.match(code):
        fail("template", "code must be lower-case letters, digits and underscores")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= 9999:
        fail("template", "version must be a whole number from 1 to 9999")
    return _load(code, version)


@functools.cache
def _load(code: str, version: int) -> InspectionTemplate:
    name = f"{code}_v{version}.json"
    resource = resources.files(_TEMPLATE_PACKAGE) / _TEMPLATE_FOLDER / name
    if not resource.is_file():
        raise DomainValidationError("template", f"there is no template {code} version {version}")
    try:
        data = json.loads(resource.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MalformedTemplateError(name, "file", f"not valid UTF-8 JSON ({error})") from error
    template = parse_template(data, source=name)
    if template.code != code or template.version != version:
        raise MalformedTemplateError(
            name, "code/version", f"file declares {template.code} v{template.version}"
        )
    return template


def parse_template(data: Any, *, source: str = "<data>") -> InspectionTemplate:
    """Builds a template from decoded JSON, refusing anything that breaks the format."""
    root = _mapping(data, source, "template")
    code = _string(root, "code", source, "template", pattern=_TEMPLATE_CODE)
    version = root.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise MalformedTemplateError(source, "template.version", "must be a positive integer")
    title = _string(root, "title", source, "template")
    raw_sections = root.get("sections")
    if not isinstance(raw_sections, list) or not raw_sections:
        raise MalformedTemplateError(source, "template.sections", "must be a non-empty list")

    sections: list[TemplateSection] = []
    seen_sections: set[str] = set()
    seen_items: set[str] = set()
    for s_index, raw_section in enumerate(raw_sections):
        where = f"sections[{s_index}]"
        section = _mapping(raw_section, source, where)
        s_code = _string(section, "code", source, where, pattern=_SECTION_CODE)
        if s_code in seen_sections:
            raise MalformedTemplateError(source, f"{where}.code", f"duplicate section {s_code!r}")
        seen_sections.add(s_code)
        raw_items = section.get("items")
        if not isinstance(raw_items, list) or not raw_items:
            raise MalformedTemplateError(source, f"{where}.items", "must be a non-empty list")
        items: list[TemplateItem] = []
        for i_index, raw_item in enumerate(raw_items):
            item_where = f"{where}.items[{i_index}]"
            item = _parse_item(_mapping(raw_item, source, item_where), source, item_where)
            if item.section_code != s_code:
                raise MalformedTemplateError(
                    source, f"{item_where}.code", f"must start with the section code {s_code!r}."
                )
            if item.code in seen_items:
                raise MalformedTemplateError(
                    source, f"{item_where}.code", f"duplicate item code {item.code!r}"
                )
            seen_items.add(item.code)
            items.append(item)
        sections.append(
            TemplateSection(
                code=s_code, title=_string(section, "title", source, where), items=tuple(items)
            )
        )
    return InspectionTemplate(code=code, version=version, title=title, sections=tuple(sections))


def _parse_item(item: Mapping[str, Any], source: str, where: str) -> TemplateItem:
    measurements = item.get("measurements", [])
    if not isinstance(measurements, list) or not all(
        isinstance(kind, str) and kind for kind in measurements
    ):
        raise MalformedTemplateError(
            source, f"{where}.measurements", "must be a list of measurement kinds"
        )
    if len(set(measurements)) != len(measurements):
        raise MalformedTemplateError(source, f"{where}.measurements", "lists a kind twice")
    return TemplateItem(
        code=_string(item, "code", source, where, pattern=_ITEM_CODE),
        title=_string(item, "title", source, where),
        hv_system=_boolean(item, "hv_system", source, where),
        required=_boolean(item, "required", source, where),
        recommended_job=_string(item, "recommended_job", source, where),
        measurements=tuple(measurements),
    )


def _mapping(value: Any, source: str, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedTemplateError(source, where, "must be a JSON object")
    return value


def _string(
    obj: Mapping[str, Any],
    key: str,
    source: str,
    where: str,
    *,
    pattern: re.Pattern[str] | None = None,
) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise MalformedTemplateError(source, f"{where}.{key}", "must be non-empty text")
    if value != value.strip() or len(value) > 200:
        raise MalformedTemplateError(
            source, f"{where}.{key}", "must be at most 200 characters, without padding"
        )
    if pattern is not None and not pattern.match(value):
        raise MalformedTemplateError(source, f"{where}.{key}", f"{value!r} is not a valid code")
    return value


def _boolean(obj: Mapping[str, Any], key: str, source: str, where: str) -> bool:
    value = obj.get(key)
    if not isinstance(value, bool):
        raise MalformedTemplateError(source, f"{where}.{key}", "must be true or false")
    return value
