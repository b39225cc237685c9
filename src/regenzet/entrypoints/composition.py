"""What the CLI's commands receive from the process's bootstrap (``regenzet.entrypoints.
bootstrap.Bootstrap`` satisfies it): the runtime asks for its collaborators through this
port and never imports the composition root, so the imports run one way only.

``regenzet``'s root command puts a factory of it on the click context
(:func:`composition`); tests can put their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import click

if TYPE_CHECKING:
    from regenzet.application.audit import ChainFollower, ChainStore, Signer, Verifier
    from regenzet.application.notification_policy import MailDispatcher
    from regenzet.application.ports import EventLogReader
    from regenzet.application.projections import Follower, ReadModelStore
    from regenzet.application.relay import Relay
    from regenzet.application.workshop import Workshop
    from regenzet.entrypoints.followers import FollowerRunner, Waker
    from regenzet.entrypoints.settings import Settings

# Opens a log reader and the audit chain in a verifier process (picklable).
VerifyOpener = Callable[[], "tuple[EventLogReader, ChainStore]"]


class Composition(Protocol):
    settings: Settings

    @property
    def workshop(self) -> Workshop: ...

    def close(self) -> None: ...

    def read_model_store(self) -> ReadModelStore: ...

    def event_log_reader(self) -> EventLogReader: ...

    def chain_store(self) -> ChainStore: ...

    def audit_signer(self) -> Signer: ...

    def chain_follower(self) -> ChainFollower: ...

    def verifier(self) -> Verifier: ...

    def build_followers(self) -> tuple[list[Follower], ReadModelStore]: ...

    def runner(self, *, batch: int | None = None) -> FollowerRunner: ...

    def waker(self) -> Waker: ...

    def relay(self, positions: ReadModelStore) -> Relay: ...

    def notification_followers(self, store: ReadModelStore) -> tuple[Follower, MailDispatcher]: ...

    def verify_opener(self) -> VerifyOpener | None: ...

    def create_login(self, role: str, password: str) -> str: ...

    def grant_append_only(self, role: str) -> list[str]: ...


def composition() -> Composition:
    """A fresh composition from the running command's root context (the settings are read
    from the environment when it is made)."""
    context = click.get_current_context()
    factory = context.find_root().obj
    if not callable(factory):
        raise click.ClickException("this command runs under `regenzet` (no composition)")
    made: Composition = factory()
    return made
