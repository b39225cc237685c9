"""Two registrations racing for one plate (ADR 0012): both passed the claim check before
either committed; the store lets one commit and the other is answered with the same 409,
naming the winner, and saves nothing. Against SQLite and Postgres, two applications."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from regenzet.adapters.clock import ManualClock
from regenzet.adapters.vin import VininfoVinDecoder
from regenzet.application.errors import DuplicateError
from regenzet.application.workshop import Workshop

from .conftest import ADVISOR, Garage


@pytest.mark.parametrize(
    "store_env", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_the_loser_of_a_plate_race_gets_the_409_naming_the_winner(
    store_env: dict[str, str],
    workshop: Workshop,
    garage: Garage,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loser = Workshop(env=store_env, clock=clock, vin_decoder=VininfoVinDecoder())
    try:
        # The loser checked the plate while it was still free.
        monkeypatch.setattr(loser, "_refuse_claimed_plate", _free_once(loser))
        winner = workshop.register_vehicle(
            vin="WVWZZZE1ZMP000201",
            plate="RACE-1",
            make=None,
            model="ID.3",
            year=2021,
            battery_kwh=Decimal("58"),
            nominal_voltage_v=Decimal("400"),
            owner_id=garage.customer,
            actor=ADVISOR,
        )
        before = loser.recorder.max_notification_id()
        with pytest.raises(DuplicateError) as err:
            loser.register_vehicle(
                vin="WVWZZZE1ZMP000202",
                plate="race 1",
                make=None,
                model="ID.3",
                year=2021,
                battery_kwh=Decimal("58"),
                nominal_voltage_v=Decimal("400"),
                owner_id=garage.other_customer,
                actor=ADVISOR,
            )
        assert err.value.aggregate_id == str(winner.id)
        assert loser.recorder.max_notification_id() == before
        assert not loser.exists(loser.find_vehicle_id("WVWZZZE1ZMP000202"))
    finally:
        loser.close()


def _free_once(app: Workshop) -> Callable[[str], None]:
    real = app._refuse_claimed_plate
    calls = {"n": 0}

    def check(plate: str) -> None:
        calls["n"] += 1
        if calls["n"] > 1:
            real(plate)

    return check
