"""Transcodings for every value type kept in events or snapshots.

``json`` encodes ``str`` and ``int`` subclasses natively, so domain enums are plain ``Enum``
classes: that way they reach their transcoding and come back as the same member.
Transcoding names are stable, short and independent of module paths, so moving a class does
not break stored events.
"""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Any

import attrs
from eventsourcing.persistence import JSONTranscoder, Transcoding


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class EnumAsValue(Transcoding):
    """One instance per enum class; the member is stored by value."""

    def __init__(self, enum_class: type[Enum]) -> None:
        self.type = enum_class
        self.name = f"enum:{enum_class.__name__}"

    def encode(self, obj: Enum) -> Any:
        return obj.value

    def decode(self, data: Any) -> Enum:
        return self.type(data)


class AttrsAsDict(Transcoding):
    """One instance per attrs value class; fields are encoded by name (nested values recurse)."""

    def __init__(self, cls: type[Any]) -> None:
        self.type = cls
        self.name = f"value:{cls.__name__}"
        self._fields = tuple(f.name for f in attrs.fields(cls))
        self._init_names = {f.name: f.alias or f.name for f in attrs.fields(cls) if f.init}
        self._no_init = tuple(f.name for f in attrs.fields(cls) if not f.init)

    def encode(self, obj: Any) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in self._fields}

    def decode(self, data: dict[str, Any]) -> Any:
        obj = self.type(**{alias: data[name] for name, alias in self._init_names.items()})
        for name in self._no_init:
            object.__setattr__(obj, name, data[name])
        return obj


def register_domain_transcodings(
    transcoder: JSONTranscoder, value_types: list[type[Any]], enums: list[type[Enum]]
) -> None:
    transcoder.register(DateAsISO())
    seen: set[str] = set()
    transcodings: list[Transcoding] = [AttrsAsDict(t) for t in value_types]
    transcodings += [EnumAsValue(e) for e in enums]
    for transcoding in transcodings:
        if transcoding.name in seen:
            msg = f"two value types share the transcoding name {transcoding.name}"
            raise ValueError(msg)
        seen.add(transcoding.name)
        transcoder.register(transcoding)
