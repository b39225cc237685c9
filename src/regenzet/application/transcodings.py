"""How events and snapshots become bytes: typed JSON for events, transcodings for snapshots.

``json`` encodes ``str`` and ``int`` subclasses natively, so domain enums are plain ``Enum``
classes: that way they reach their transcoding and come back as the same member.
Transcoding names are stable, short and independent of module paths, so moving a class does
not break stored events.
"""

from __future__ import annotations

import dataclasses
import typing
from datetime import date
from enum import Enum
from typing import Any, ClassVar, TypedDict
from uuid import UUID

import attrs
import msgspec
from eventsourcing.domain import CanMutateAggregate, DomainEventProtocol
from eventsourcing.persistence import (
    Cipher,
    Compressor,
    JSONTranscoder,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    Transcoder,
    Transcoding,
)
from eventsourcing.utils import get_topic, resolve_topic


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
        member: Enum = self.type(data)
        return member


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


# ---------------------------------------------------------------------------------------------
# Typed JSON for domain events (ADR 0007)
# ---------------------------------------------------------------------------------------------


class TypedEventMapper(Mapper[UUID]):
    """Stores domain events as plain, typed JSON and decodes them against each event's own
    field types with msgspec, in C: no ``_type_`` wrappers in the stored bytes and several
    times faster to decode than the tagged format (replay, followers and audit verification
    read the whole log). Snapshots keep the library's tagged format: their state is untyped.

    Values are encoded as: UUID and datetime as ISO strings, Decimal as its exact string,
    enums by value, attrs value objects as objects of their fields.
    """

    def __init__(
        self,
        transcoder: Transcoder,
        compressor: Compressor | None = None,
        cipher: Cipher | None = None,
    ) -> None:
        super().__init__(transcoder=transcoder, compressor=compressor, cipher=cipher)
        self._encoder = msgspec.json.Encoder(decimal_format="string")
        self._decoders: dict[type, _EventSchema | None] = {}
        self._by_topic: dict[str, tuple[type, _EventSchema | None]] = {}

    def _decoder(self, cls: type) -> _EventSchema | None:
        try:
            return self._decoders[cls]
        except KeyError:
            pass
        schema: _EventSchema | None = None
        # Aggregate events are typed; snapshots (untyped state) keep the tagged transcoder.
        if issubclass(cls, CanMutateAggregate) and not cls.__module__.startswith("eventsourcing."):
            hints = typing.get_type_hints(cls)
            fields = {
                name: tp
                for name, tp in hints.items()
                if name not in _HEADER_FROM_RECORD and typing.get_origin(tp) is not ClassVar
            }
            required = frozenset(
                f.name
                for f in dataclasses.fields(typing.cast(Any, cls))
                if f.name in fields
                and f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING
            )
            fields["class_version"] = int
            # total=False so that missing fields are reported by name (below), not by msgspec.
            state_type: Any = TypedDict(  # type: ignore[misc]
                f"{cls.__qualname__}State", fields, total=False
            )
            schema = _EventSchema(
                state_type,
                msgspec.json.Decoder(state_type),
                required,
                getattr(cls, "class_version", 1),
            )
        self._decoders[cls] = schema
        return schema

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        cls = type(domain_event)
        if self._decoder(cls) is None:
            return super().to_stored_event(domain_event)
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(cls, "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        stored_state = self._encoder.encode(state)
        if self.compressor:
            stored_state = self.compressor.compress(stored_state)
        if self.cipher:
            stored_state = self.cipher.encrypt(stored_state)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(cls),
            state=stored_state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        originator_id = stored_event.originator_id
        return self.decode(
            originator_id if isinstance(originator_id, UUID) else UUID(originator_id),
            stored_event.originator_version,
            stored_event.topic,
            stored_event.state,
        )

    def decode(
        self, originator_id: UUID, originator_version: int, topic: str, stored_state: bytes
    ) -> DomainEventProtocol[UUID]:
        """Decodes one stored event from its parts (the bulk readers' fast path).

        Current-version events decode straight into typed values. Older versions decode to
        plain JSON first, so upcasters see the stored shape (renamed keys, old value types)
        and are converted to today's types afterwards.
        """
        try:
            cls, schema = self._by_topic[topic]
        except KeyError:
            cls = resolve_topic(topic)
            schema = self._decoder(cls)
            self._by_topic[topic] = (cls, schema)
        if schema is None:
            return super().to_domain_event(
                StoredEvent(originator_id, originator_version, topic, stored_state)
            )
        try:
            if self.cipher:
                stored_state = self.cipher.decrypt(stored_state)
            if self.compressor:
                stored_state = self.compressor.decompress(stored_state)
            state = self._decode_state(cls, schema, stored_state)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            msg = (
                f"Failed to decode stored event {originator_id} v{originator_version} "
                f"({topic}): {exc}"
            )
            raise MapperDeserialisationError(msg) from exc
        if not schema.required <= state.keys():
            missing = ", ".join(sorted(schema.required - state.keys()))
            msg = (
                f"Stored event {originator_id} v{originator_version} ({topic}) lacks "
                f"required fields: {missing}"
            )
            raise MapperDeserialisationError(msg)
        state["originator_id"] = originator_id
        state["originator_version"] = originator_version
        domain_event: DomainEventProtocol[UUID] = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", state)
        return domain_event

    @staticmethod
    def _decode_state(
        event_class: type, schema: _EventSchema, stored_state: bytes
    ) -> dict[str, Any]:
        if schema.class_version > 1:
            # Versioned class: read the stored version first (cheap: plain JSON).
            raw: dict[str, Any] = msgspec.json.decode(stored_state)
            from_version = raw.pop("class_version", 1)
            if from_version < schema.class_version:
                while from_version < schema.class_version:
                    getattr(event_class, f"upcast_v{from_version}_v{from_version + 1}")(raw)
                    from_version += 1
                converted: dict[str, Any] = msgspec.convert(raw, schema.state_type, strict=False)
                return converted
        state: dict[str, Any] = schema.decoder.decode(stored_state)
        state.pop("class_version", None)
        return state


class _EventSchema(typing.NamedTuple):
    state_type: Any
    decoder: msgspec.json.Decoder[Any]
    required: frozenset[str]
    class_version: int


_HEADER_FROM_RECORD = {"originator_id", "originator_version"}
