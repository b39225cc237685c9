"""Opens N repair orders (each with its own customer and vehicle) through the HTTP API, so the
budget script can time the board with that many open orders. Usage:
    python seed-open-orders.py BASE_URL N"""

import json
import sys
import urllib.request

base, count = sys.argv[1].rstrip("/"), int(sys.argv[2])
TRANSLIT = dict(zip("ABCDEFGHJKLMNPRSTUVWXYZ", [1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9]))
WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]


def vin(serial: int) -> str:
    body = f"5YJ3E1EA0KF{serial:06d}"
    total = sum((int(c) if c.isdigit() else TRANSLIT[c]) * w for c, w in zip(body, WEIGHTS))
    check = "X" if total % 11 == 10 else str(total % 11)
    return body[:8] + check + body[9:]


def call(method: str, path: str, token: str | None, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


token = call("POST", "/auth/local/sign-in", None, {"name": "eva"})["access_token"]
for i in range(count):
    customer = call("POST", "/api/v1/customers", token, {"name": f"Fleet Driver {i:04d}", "email": f"driver{i:04d}@fleet.example"})
    vehicle = call(
        "POST",
        "/api/v1/vehicles",
        token,
        {"vin": vin(400000 + i), "plate": f"B-{i:04d}-EV", "model": "Model 3", "year": 2019, "battery_kwh": "75", "nominal_voltage_v": "350", "owner_id": customer["id"]},
    )
    call("POST", "/api/v1/repair-orders", token, {"customer_id": customer["id"], "vehicle_id": vehicle["id"], "concerns": ["Annual HV check"], "odometer_in_km": 30000 + i})
print(f"opened {count} repair orders")
