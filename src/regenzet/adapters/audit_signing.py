"""Checkpoint signers (the ``Signer`` port): a local Ed25519 key, or an AWS KMS key.

The local key lives in ``$REGENZET_DATA_DIR/audit-keys`` (directory 0700, key 0600), apart
from the key that signs API tokens: whoever can mint tokens cannot forge checkpoints.
A key's id is the first 16 bytes (hex) of the SHA-256 of its public key (SubjectPublicKeyInfo,
DER), so an export names the key a verifier must trust.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from regenzet.adapters.identity import LocalKeyPair

ED25519 = "Ed25519"
ECDSA_P256 = "ECDSA_P256_SHA256"


def key_id_of(public_key_der: bytes) -> str:
    return hashlib.sha256(public_key_der).hexdigest()[:32]


def verify_signature(public_key_pem: str, algorithm: str, message: bytes, signature: bytes) -> bool:
    """Checks a checkpoint signature with nothing but the public key (what a verifier does)."""
    key = serialization.load_pem_public_key(public_key_pem.encode())
    try:
        if algorithm == ED25519 and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
            return True
        if algorithm == ECDSA_P256 and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
            return True
    except InvalidSignature:
        return False
    return False


class _PublicKeyMixin:
    _public_pem: str
    _key_id: str
    _algorithm: str

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def algorithm(self) -> str:
        return self._algorithm

    def public_key_pem(self) -> str:
        return self._public_pem

    def verify(self, message: bytes, signature: bytes) -> bool:
        return verify_signature(self._public_pem, self._algorithm, message, signature)


class LocalAuditSigner(_PublicKeyMixin):
    """Ed25519 with a key generated on first use in the data directory."""

    def __init__(self, key_pair: LocalKeyPair) -> None:
        if key_pair.algorithm != "EdDSA":
            raise ValueError("the local audit key must be Ed25519")
        if not isinstance(key_pair.private_key, ed25519.Ed25519PrivateKey):
            raise TypeError("the local audit key must be Ed25519")
        self._private: ed25519.Ed25519PrivateKey = key_pair.private_key
        public = self._private.public_key()
        der = public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self._public_pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        self._key_id = key_id_of(der)
        self._algorithm = ED25519

    @classmethod
    def in_directory(cls, directory: Path) -> LocalAuditSigner:
        return cls(LocalKeyPair.load_or_create(directory, "EdDSA"))

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)


class KmsAuditSigner(_PublicKeyMixin):
    """An asymmetric KMS key (``ECC_NIST_P256``, ``SIGN_VERIFY``): the private key never
    leaves KMS; verification uses the public key fetched once at start-up."""

    def __init__(self, kms: Any, key_id: str) -> None:
        self._kms = kms
        self._kms_key_id = key_id
        response = kms.get_public_key(KeyId=key_id)
        # KeySpec; older responses (and moto) name it CustomerMasterKeySpec.
        spec = response.get("KeySpec") or response.get("CustomerMasterKeySpec")
        if spec != "ECC_NIST_P256":
            raise ValueError(f"KMS key {key_id} must be ECC_NIST_P256, not {spec}")
        der = response["PublicKey"]
        public = serialization.load_der_public_key(der)
        self._public_pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        self._key_id = key_id_of(der)
        self._algorithm = ECDSA_P256

    def sign(self, message: bytes) -> bytes:
        response = self._kms.sign(
            KeyId=self._kms_key_id,
            Message=message,
            MessageType="RAW",
            SigningAlgorithm="ECDSA_SHA_256",
        )
        return bytes(response["Signature"])


__all__ = [
    "ECDSA_P256",
    "ED25519",
    "KmsAuditSigner",
    "LocalAuditSigner",
    "key_id_of",
    "verify_signature",
]
