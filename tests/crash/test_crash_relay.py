"""The relay SIGKILLed again and again while it publishes a backlog of integration events to
the JSON-lines sink (issue 17): a kill between publishing a batch and recording its position
republishes that batch, so every integration event is published at least once, and each
aggregate's events appear in order (a republished batch repeats a run it already sent, never
jumps back past it). Real ``regenzet relay run`` processes, real Postgres."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from regenzet.adapters.clock import SystemClock
from regenzet.adapters.read_models import InMemoryReadModelStore
from regenzet.application.integration_events import IntegrationMessage
from regenzet.domain.common import Actor, Role
from regenzet.domain.vehicle import BatteryHealthMethod
from regenzet.entrypoints.bootstrap import event_store_env, relay_for, workshop_for
from regenzet.entrypoints.settings import Settings

from .harness import server_env
from .stores import cli

pytestmark = pytest.mark.postgres

TECHNICIAN = Actor("crash-technician", Role.TECHNICIAN)
READINGS = 400


class _Sink:
    def __init__(self) -> None:
        self.messages: list[IntegrationMessage] = []

    def publish(self, messages: list[IntegrationMessage]) -> None:
        self.messages.extend(messages)


def test_a_relay_killed_repeatedly_publishes_every_event_at_least_once_in_order(
    tmp_path: Path, postgres_dsn: str, postgres_schema: str
) -> None:
    kills = int(os.environ.get("REGENZET_CRASH_KILLS", "6"))
    env = server_env(postgres_dsn, postgres_schema, tmp_path)
    seeded = cli(env, "demo")  # also publishes the demo's events, as a running garage has
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    settings = Settings.from_env(env)
    store_env = event_store_env(settings)
    workshop = workshop_for(store_env, SystemClock())
    rows = workshop.recorder.select_notifications(start=1, limit=100_000)
    vehicles = sorted(
        {r.originator_id for r in rows if r.topic.endswith(":Vehicle.Registered")}, key=str
    )
    stop = threading.Event()

    def record_readings() -> None:  # battery readings keep coming: an integration event each
        n = 0
        while not stop.is_set() or n < READINGS:
            workshop.record_battery_health(
                vehicles[n % len(vehicles)],  # type: ignore[arg-type]
                soh_pct=Decimal(90) - Decimal(n % 10),
                soc_pct=None,
                method=BatteryHealthMethod.BMS_READ,
                actor=TECHNICIAN,
            )
            n += 1
            time.sleep(0.005)

    rng = random.Random(17)
    killed = 0
    log = (tmp_path / "relay.log").open("ab")
    readings = threading.Thread(target=record_readings)
    readings.start()
    try:
        for _ in range(kills):
            relay = subprocess.Popen(
                [sys.executable, "-m", "regenzet.entrypoints", "relay", "run"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            # Dies the moment a batch reached the file: before (or just after) the relay
            # records its position, the window in which a batch is published twice.
            sink_file = tmp_path / "events.jsonl"
            size = sink_file.stat().st_size if sink_file.exists() else 0
            until = time.monotonic() + rng.uniform(1.5, 4.0)
            while time.monotonic() < until:
                if sink_file.exists() and sink_file.stat().st_size > size:
                    break
                time.sleep(0.0005)
            relay.send_signal(signal.SIGKILL)
            relay.wait(timeout=10)
            killed += 1
    finally:
        stop.set()
        readings.join(timeout=120)
        log.close()
    try:
        sink = _Sink()
        expected_relay = relay_for(workshop, store_env, settings, InMemoryReadModelStore())
        expected_relay.publisher = sink  # type: ignore[misc]
        expected_relay.catch_up()
        expected_relay.reader.close()
    finally:
        workshop.close()
    expected = sink.messages
    finished = cli(env, "relay", "run", "--once")
    assert finished.returncode == 0, finished.stdout + finished.stderr

    lines = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    published = [line["message_attributes"] for line in lines]
    ids = [a["event_id"] for a in published]
    missing = {m.event_id for m in expected} - set(ids)
    assert not missing, f"{len(missing)} integration events never published"
    per_aggregate: dict[str, list[int]] = defaultdict(list)
    for a in published:
        per_aggregate[a["aggregate_id"]].append(int(a["version"]))
    for aggregate, versions in per_aggregate.items():
        firsts: list[int] = []
        for v in versions:
            if v not in firsts:
                firsts.append(v)
        assert firsts == sorted(firsts), f"{aggregate} published out of order: {versions}"
    duplicates = len(ids) - len(set(ids))
    print(
        f"\ncrash-relay: kills={killed} expected={len(expected)} published_lines={len(ids)}"
        f" republished={duplicates}"
    )
