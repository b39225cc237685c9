"""Writes the integration-event JSON Schemas generated from the payload structs into the
package (``regenzet/application/integration_schemas``). Run after changing a payload:

    .venv/bin/python tests/contracts/regenerate_integration_schemas.py

A test fails while the committed files differ from what the code generates.
"""

from __future__ import annotations

import json
from pathlib import Path

from regenzet.application import integration_events

TARGET = Path(integration_events.__file__).parent / "integration_schemas"


def main() -> None:
    TARGET.mkdir(exist_ok=True)
    for stale in TARGET.glob("*.json"):
        stale.unlink()
    for event_type, *_ in integration_events.CATALOGUE:
        schema = integration_events.json_schema(event_type)
        (TARGET / f"{event_type}.json").write_text(json.dumps(schema, indent=2) + "\n")
    print(f"wrote {len(integration_events.CATALOGUE)} schemas to {TARGET}")


if __name__ == "__main__":
    main()
