"""A read model records its schema version; code with another version refuses to follow until
the read model is rebuilt into the new shape."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.event_log import RecorderEventLogReader
from regenzet.adapters.read_models import InMemoryReadModelStore
from regenzet.adapters.vin import VininfoVinDecoder
from regenzet.application.projections import Follower, SchemaOutdatedError, TableSpec
from regenzet.application.workshop import Workshop
from regenzet.domain.common import Actor, Role


@attrs.define
class Names:
    """A tiny read model: customer names."""

    version: int
    name: str = "names"
    tables: tuple[TableSpec, ...] = (TableSpec("names"),)

    def apply(self, event: Any, tx: Any) -> None:
        if type(event).__qualname__ == "Customer.Registered":
            tx.put("names", str(event.originator_id), {"name": event.name, "v": self.version})


def test_a_changed_schema_version_needs_a_rebuild() -> None:
    workshop = Workshop(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
        clock=ManualClock(datetime(2026, 1, 1, tzinfo=UTC)),
        vin_decoder=VininfoVinDecoder(),
    )
    cid = workshop.register_customer(
        name="Femke", email="f@example.com", phone=None, actor=Actor("a", Role.ADVISOR)
    ).id
    store = InMemoryReadModelStore()
    reader = RecorderEventLogReader(workshop.recorder)
    v1 = Follower(Names(1), store, reader, workshop.decode_rows)
    v1.check_schema()
    v1.catch_up()
    assert store.get("names", str(cid)) == {"name": "Femke", "v": 1}

    v2 = Follower(Names(2), store, reader, workshop.decode_rows)
    with pytest.raises(SchemaOutdatedError, match="rebuild names"):
        v2.check_schema()
    v2.rebuild()
    v2.check_schema()
    assert store.status("names") == (1, 2)
    assert store.get("names", str(cid)) == {"name": "Femke", "v": 2}
