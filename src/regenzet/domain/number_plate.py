"""A number plate claimed by one vehicle: the uniqueness index of plates (ADR 0012).

Plates are unique among the garage's vehicles, but a vehicle's id comes from its VIN, so the
event store alone cannot refuse a second car with the same plate. This aggregate's id is
derived from the plate, and it is saved in the same atomic write as the vehicle it points at:
two registrations racing for one plate both try to create version 1 of the same aggregate and
the store's unique key lets exactly one of them commit (the eventsourcing library's own
"index aggregate" pattern). No read model is consulted, so there is no window between a check
and the write.
"""

from __future__ import annotations

import re
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from regenzet.domain.common import Actor, fail

PLATE_NAMESPACE = UUID("0b8c7d3e-5f41-4a6e-9c2d-7e1f3a9b4c58")
_PLATE = re.compile(r"^[A-Z0-9][A-Z0-9 -]{0,13}[A-Z0-9]$")
_SEPARATORS = re.compile(r"[ -]+")


def normalise_plate(plate: str) -> str:
    """The plate as it is printed: trimmed, upper case, 2-15 letters, digits, spaces or
    dashes."""
    if not isinstance(plate, str):
        fail("plate", "must be text")
    plate = plate.strip().upper()
    if not _PLATE.match(plate):
        fail("plate", "must be 2-15 letters, digits, spaces or dashes")
    return plate


def plate_key(plate: str) -> str:
    """What makes two plates the same plate: ``R-123-TX``, ``r 123 tx`` and ``R123TX`` are
    one plate (separators are how it is written, not what it is)."""
    return _SEPARATORS.sub("", normalise_plate(plate))


class NumberPlate(Aggregate):
    """The claim of one plate by one vehicle."""

    @staticmethod
    def create_id(plate: str) -> UUID:
        return uuid5(PLATE_NAMESPACE, plate_key(plate))

    # Every event is declared as a class above its method, so followers dispatch on the class
    # and mypy checks them (ADR 0032). The fields are the method's, in its order: the stored
    # JSON keeps that order (tests/golden), and the class name is in the stored topic.
    class Claimed(Aggregate.Created):
        plate: str
        vehicle_id: UUID
        actor: Actor

    @event(Claimed)
    def __init__(self, *, plate: str, vehicle_id: UUID, actor: Actor) -> None:
        self.plate = plate
        self.vehicle_id = vehicle_id
        self.claimed_by = actor
