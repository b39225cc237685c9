"""End to end over HTTP: a repair order from intake to hand-back, with HV gating and invoicing,
each step by the role that does it in a garage."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from .conftest import Api, staff_id

NEW_VIN = "WVWZZZE1ZMP000777"


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def test_a_repair_order_goes_from_intake_to_hand_back_with_hv_gating(api: Api) -> None:
    c = api.client
    eva, noor, pieter = api.auth("eva"), api.auth("noor"), api.auth("pieter")

    customer = ok(
        c.post(
            "/api/v1/customers",
            json={"name": "Femke Bos", "email": "femke@example.nl", "phone": "+31 6 5555 0000"},
            headers=eva,
        ),
        201,
    )
    customer_id = customer["id"]
    femke = {
        "Authorization": "Bearer "
        + api.token(api.logins["sanne"].role, subject="femke", customer_id=customer_id)
    }
    vehicle = c.post(
        "/api/v1/vehicles",
        json={
            "vin": NEW_VIN,
            "plate": "N-777-EV",
            "model": "ID.3 Pro",
            "year": 2021,
            "battery_kwh": "58",
            "nominal_voltage_v": "408",
            "owner_id": customer_id,
        },
        headers=eva,
    )
    assert vehicle.status_code == 201, vehicle.text
    assert vehicle.headers["location"] == f"/api/v1/vehicles/{vehicle.json()['id']}"
    vehicle_id = vehicle.json()["id"]

    order = ok(
        c.post(
            "/api/v1/repair-orders",
            json={
                "vehicle_id": vehicle_id,
                "customer_id": customer_id,
                "concerns": ["Coolant pump noise", "Wipers smear"],
                "odometer_in_km": 31_200,
                "soc_in_pct": "64",
            },
            headers=eva,
        ),
        201,
    )
    ro = f"/api/v1/repair-orders/{order['id']}"
    ok(
        c.post(
            f"{ro}/jobs",
            json={
                "job_id": "coolant-pump",
                "title": "Replace battery coolant pump",
                "labour": [{"description": "Pump swap", "hours": "2", "rate": "95.00"}],
                "parts": [
                    {
                        "part_number": "1EA-965-567",
                        "description": "Coolant pump",
                        "quantity": "1",
                        "unit_price": "240.00",
                    }
                ],
                "hv_work": True,
                "required_hv_level": 3,
            },
            headers=eva,
        )
    )
    ok(
        c.post(
            f"{ro}/jobs",
            json={
                "job_id": "wipers",
                "title": "Replace wiper blades",
                "parts": [
                    {
                        "part_number": "WB-600",
                        "description": "Wiper set",
                        "quantity": "1",
                        "unit_price": "35.00",
                    }
                ],
            },
            headers=eva,
        )
    )
    ok(c.post(f"{ro}/quote/send", headers=eva))

    # The owner decides per job in the portal; a staff-only channel is refused.
    assert (
        problem(
            c.post(f"{ro}/jobs/coolant-pump/approve", json={"channel": "phone"}, headers=femke), 422
        )["field"]
        == "channel"
    )
    ok(c.post(f"{ro}/jobs/coolant-pump/approve", json={}, headers=femke))
    ok(c.post(f"{ro}/jobs/wipers/decline", json={"reason": "Later"}, headers=femke))

    # Level 1 may not be assigned an HV repair; noor (level 3) may.
    refused = problem(
        c.post(
            f"{ro}/jobs/coolant-pump/assign", json={"staff_id": str(staff_id("milan"))}, headers=eva
        ),
        409,
    )
    assert refused["rule"]
    ok(
        c.post(
            f"{ro}/jobs/coolant-pump/assign", json={"staff_id": str(staff_id("noor"))}, headers=eva
        )
    )

    # No clocking on HV work before the car is made HV-safe.
    assert problem(c.post(f"{ro}/jobs/coolant-pump/clock-on", headers=noor), 409)["rule"]
    assert problem(
        c.post(
            f"{ro}/hv/isolate",
            json={"residual_voltage_v": "120", "lock_tag_id": "LOTO-7", "ppe_checked": True},
            headers=noor,
        ),
        409,
    )["rule"]
    ok(
        c.post(
            f"{ro}/hv/isolate",
            json={"residual_voltage_v": "4.2", "lock_tag_id": "LOTO-7", "ppe_checked": True},
            headers=noor,
        )
    )
    ok(c.post(f"{ro}/jobs/coolant-pump/clock-on", headers=noor))
    api.clock.advance(timedelta(hours=2, minutes=15))
    ok(c.post(f"{ro}/jobs/coolant-pump/clock-off", headers=noor))
    ok(c.post(f"{ro}/jobs/coolant-pump/complete", headers=noor))

    # Technicians act in their own name: the isolation names noor, from her token.
    isolated = ok(c.get(ro, headers=eva))
    assert isolated["isolation"]["technician_id"] == str(staff_id("noor"))
    # A car with its HV lockout applied is not ready: its QC pass and invoice are refused.
    passing = c.post(f"{ro}/quality-check/pass", json={"notes": "No leaks"}, headers=pieter)
    assert problem(passing, 409)["rule"] == "hv_restored_before_ready"
    ok(c.post(f"{ro}/hv/restore", headers=noor))
    ok(c.post(f"{ro}/quality-check/pass", json={"notes": "No leaks"}, headers=pieter))
    invoice = ok(c.post(f"{ro}/invoice", headers=eva))
    assert invoice["version"] > order["version"]

    state = ok(c.get(ro, headers=eva))
    assert [j["status"] for j in state["jobs"]] == ["completed", "declined"]
    subtotal, tax, total = (Decimal(state[k]) for k in ("subtotal", "tax", "total"))
    assert subtotal == Decimal("2") * Decimal("95.00") + Decimal(
        "240.00"
    )  # the declined job is not billed
    assert tax == (subtotal * Decimal("0.21")).quantize(Decimal("0.01"))
    assert total == subtotal + tax

    ok(c.post(f"{ro}/payments", json={"amount": str(total), "method": "card"}, headers=eva))
    ok(c.post(f"{ro}/release", json={"odometer_out_km": 31_203}, headers=eva))

    final = ok(c.get(ro, headers=femke))
    assert final["status"] == "closed"
    assert Decimal(final["balance"]) == 0
    vehicle_now = ok(c.get(f"/api/v1/vehicles/{vehicle_id}", headers=femke))
    assert vehicle_now["odometer_km"] == 31_203
