"""A minimal verifier of a ReGenZet audit export, written from docs/audit.md alone.

It deliberately imports nothing from ReGenZet: only the standard library and ``cryptography``
for the signature, as a third party would. Raises ValueError naming the first problem;
returns the number of events verified.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import uuid

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519


def _record(event: dict) -> bytes:
    topic = event["topic"].encode("utf-8")
    return (
        struct.pack(">Q", event["notification_id"])
        + uuid.UUID(event["aggregate_id"]).bytes
        + struct.pack(">Q", event["version"])
        + struct.pack(">H", len(topic))
        + topic
        + hashlib.sha256(base64.b64decode(event["state_b64"])).digest()
    )


def _check_signature(header: dict, checkpoint: dict) -> None:
    key = serialization.load_pem_public_key(header["public_key_pem"].encode())
    message = checkpoint["message"].encode()
    signature = base64.b64decode(checkpoint["signature_b64"])
    try:
        if checkpoint["algorithm"] == "Ed25519" and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        elif checkpoint["algorithm"] == "ECDSA_P256_SHA256" and isinstance(
            key, ec.EllipticCurvePublicKey
        ):
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        else:
            raise ValueError(f"checkpoint {checkpoint['notification_id']}: unknown algorithm")
    except InvalidSignature:
        raise ValueError(f"checkpoint {checkpoint['notification_id']}: bad signature") from None


def verify_export(lines: list[str]) -> int:
    header = json.loads(lines[0])
    if header.get("format") != "regenzet-audit-export/1":
        raise ValueError("not a ReGenZet audit export")
    link = bytes(32)
    previous_id = 0
    count = 0
    links: dict[int, tuple[bytes, int]] = {}
    checkpoints = []
    for line in lines[1:]:
        item = json.loads(line)
        if item["kind"] == "checkpoint":
            checkpoints.append(item)
            continue
        n = item["notification_id"]
        if n <= previous_id:
            raise ValueError(f"notification {n}: out of order")
        if item["previous_id"] != previous_id:
            raise ValueError(f"notification {n}: the event before it is missing")
        link = hashlib.sha256(link + _record(item)).digest()
        if item["link"] != link.hex():
            raise ValueError(f"notification {n}: link does not match the event")
        count += 1
        links[n] = (link, count)
        previous_id = n
    if count != header["events"] or previous_id != header["chain_head"]:
        raise ValueError("the export ends early")
    for checkpoint in checkpoints:
        message = json.loads(checkpoint["message"])
        sealed = links.get(message["notification_id"])
        if sealed is None or sealed[0].hex() != message["link"] or sealed[1] != message["events"]:
            raise ValueError(f"checkpoint {message['notification_id']}: does not match the chain")
        _check_signature(header, checkpoint)
    return count
