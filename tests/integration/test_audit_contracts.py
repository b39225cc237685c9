"""One contract suite per audit port, run against every adapter: chain stores (memory, SQLite,
Postgres) and checkpoint signers (local Ed25519, AWS KMS on moto)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from regenzet.adapters.audit_chain import InMemoryChainStore, PostgresChainStore, SqliteChainStore
from regenzet.adapters.audit_signing import (
    ECDSA_P256,
    ED25519,
    KmsAuditSigner,
    LocalAuditSigner,
    verify_signature,
)
from regenzet.adapters.identity import LocalKeyPair
from regenzet.application.audit import (
    GENESIS,
    ChainHead,
    ChainLink,
    ChainStore,
    Checkpoint,
    Signer,
    checkpoint_message,
    next_link,
    record_bytes,
)
from regenzet.entrypoints.bootstrap import postgres_conninfo

from ..conftest import postgres_store_env

AT = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def chain(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ChainStore]:
    store: Any
    if request.param == "memory":
        store = InMemoryChainStore()
    elif request.param == "sqlite":
        store = SqliteChainStore(tmp_path / "events.db")
    else:
        schema = request.getfixturevalue("postgres_schema")
        env = postgres_store_env(request.getfixturevalue("postgres_dsn"), schema)
        store = PostgresChainStore(postgres_conninfo(env), schema=schema)
    store.prepare()
    store.prepare()  # idempotent
    yield store
    store.close()


def _links(ids: list[int], first_previous: int = 0) -> list[ChainLink]:
    previous = [first_previous, *ids[:-1]]
    return [ChainLink(n, p, bytes([n % 256]) * 32) for n, p in zip(ids, previous, strict=True)]


def _checkpoint(notification_id: int, events: int) -> Checkpoint:
    return Checkpoint(notification_id, events, b"\x07" * 32, AT, "key", ED25519, b"sig")


class TestChainStoreContract:
    def test_an_empty_chain_has_the_genesis_head(self, chain: ChainStore) -> None:
        assert chain.head() == ChainHead(0, 0, GENESIS)
        assert chain.links(0, 100) == []
        assert chain.link_before(10) is None
        assert chain.checkpoints() == []

    def test_appends_move_the_head_and_count_links(self, chain: ChainStore) -> None:
        first = _links([1, 2, 4])  # 3 never committed
        with chain.transaction() as tx:
            tx.append(first, ChainHead(4, 3, first[-1].link))
        second = _links([5, 9], first_previous=4)
        with chain.transaction() as tx:
            assert tx.head() == ChainHead(4, 3, first[-1].link)
            tx.append(second, ChainHead(9, 5, second[-1].link))
        assert chain.head() == ChainHead(9, 5, second[-1].link)
        assert chain.links(1, 5) == [
            (2, 1, first[1].link),
            (4, 2, first[2].link),
            (5, 4, second[0].link),
        ]
        assert chain.link_at(4) == first[2]
        assert chain.link_at(3) is None
        assert chain.link_before(5) == (first[2], 3)
        assert chain.link_before(9) == (second[0], 4)

    def test_checkpoints_round_trip_in_order(self, chain: ChainStore) -> None:
        links = _links([1, 2, 3])
        with chain.transaction() as tx:
            tx.append(links, ChainHead(3, 3, links[-1].link))
            tx.add_checkpoint(_checkpoint(3, 3))
            tx.add_checkpoint(_checkpoint(1, 1))
        assert chain.checkpoints() == [_checkpoint(1, 1), _checkpoint(3, 3)]

    def test_a_failed_transaction_leaves_nothing(self, chain: ChainStore) -> None:
        links = _links([1, 2])

        def crash() -> None:
            with chain.transaction() as tx:
                tx.append(links, ChainHead(2, 2, links[-1].link))
                tx.add_checkpoint(_checkpoint(2, 2))
                raise RuntimeError("crash before commit")

        with pytest.raises(RuntimeError):
            crash()
        assert chain.head() == ChainHead()
        assert chain.checkpoints() == []

    def test_writers_take_turns(self, chain: ChainStore) -> None:
        """Two writers that each read the head inside their transaction never interleave."""
        inside = threading.Event()
        release = threading.Event()
        seen: list[int] = []

        def first() -> None:
            with chain.transaction() as tx:
                inside.set()
                release.wait(5)
                links = _links([1])
                tx.append(links, ChainHead(1, 1, links[-1].link))

        thread = threading.Thread(target=first)
        thread.start()
        inside.wait(5)
        timer = threading.Timer(0.3, release.set)
        timer.start()
        with chain.transaction() as tx:
            seen.append(tx.head().notification_id)  # waited for the first writer's commit
        thread.join(5)
        timer.cancel()
        assert seen == [1]


# ---------------------------------------------------------------------------------------------
# Signers
# ---------------------------------------------------------------------------------------------


@pytest.fixture(params=["local", "kms"])
def signer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Signer]:
    if request.param == "local":
        yield LocalAuditSigner.in_directory(tmp_path / "audit-keys")
        return
    with mock_aws():
        kms = boto3.client("kms", region_name="eu-west-1")
        key = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="ECC_NIST_P256")["KeyMetadata"]
        yield KmsAuditSigner(kms, key["KeyId"])


class TestSignerContract:
    def test_a_signature_verifies_with_the_public_key_alone(self, signer: Signer) -> None:
        message = checkpoint_message(10, 10, b"\x01" * 32, AT)
        signature = signer.sign(message)
        assert signer.verify(message, signature)
        assert verify_signature(signer.public_key_pem(), signer.algorithm, message, signature)
        assert signer.algorithm in {ED25519, ECDSA_P256}
        assert len(signer.key_id) == 32

    def test_an_altered_message_or_signature_fails(self, signer: Signer) -> None:
        message = checkpoint_message(10, 10, b"\x01" * 32, AT)
        signature = signer.sign(message)
        assert not signer.verify(checkpoint_message(10, 11, b"\x01" * 32, AT), signature)
        assert not signer.verify(message, bytes([signature[0] ^ 1]) + signature[1:])

    def test_the_key_id_is_stable(self, signer: Signer) -> None:
        assert signer.key_id == signer.key_id
        assert signer.public_key_pem().startswith("-----BEGIN PUBLIC KEY-----")


def test_the_local_key_is_kept_between_runs(tmp_path: Path) -> None:
    first = LocalAuditSigner.in_directory(tmp_path / "k")
    again = LocalAuditSigner.in_directory(tmp_path / "k")
    assert first.key_id == again.key_id
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o700


def test_the_local_audit_key_must_be_ed25519() -> None:
    with pytest.raises(ValueError, match="Ed25519"):
        LocalAuditSigner(LocalKeyPair.generate("ES256"))


def test_a_kms_key_of_another_kind_is_refused() -> None:
    with mock_aws():
        kms = boto3.client("kms", region_name="eu-west-1")
        key = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="RSA_2048")["KeyMetadata"]
        with pytest.raises(ValueError, match="ECC_NIST_P256"):
            KmsAuditSigner(kms, key["KeyId"])


# ---------------------------------------------------------------------------------------------
# The canonical encoding, pinned byte for byte (docs/audit.md is written from this)
# ---------------------------------------------------------------------------------------------


def test_the_record_encoding_is_the_documented_one() -> None:
    import hashlib

    aggregate = bytes.fromhex("0123456789abcdef0123456789abcdef")
    row = (258, aggregate, 3, "a:B.C", b'{"x":1}')
    expected = (
        bytes.fromhex("0000000000000102")
        + aggregate
        + bytes.fromhex("0000000000000003")
        + bytes.fromhex("0005")
        + b"a:B.C"
        + hashlib.sha256(b'{"x":1}').digest()
    )
    assert record_bytes(row) == expected
    assert next_link(GENESIS, row) == hashlib.sha256(bytes(32) + expected).digest()
    assert checkpoint_message(7, 5, b"\xab" * 32, AT) == (
        b'{"created_at":"2026-11-25T09:30:00+00:00","events":5,'
        b'"format":"regenzet-audit-checkpoint/1","link":"' + b"ab" * 32 + b'",'
        b'"notification_id":7}'
    )
