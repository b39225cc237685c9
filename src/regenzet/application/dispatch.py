"""Handlers keyed by event class, typed so mypy checks each handler against its event.

Followers used to match events by name (``type(event).__qualname__`` split at the dot, then
``== "QuoteSent"``): renaming an event class silently stopped emails and integration events.
Here a handler is registered with the class itself (ADR 0032)::

    def quote_ready(event: RepairOrder.QuoteSent, order: Any) -> Row: ...

    emails: EventHandlers[Row] = EventHandlers()
    emails.on(RepairOrder.QuoteSent, quote_ready)

so a renamed or removed event fails at import and in mypy, and a handler whose event parameter
does not match the class it is registered for fails mypy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

E = TypeVar("E")
R = TypeVar("R")

# (the event, the aggregate folded up to and including it) -> the handler's result
Handler = Callable[[Any, Any], R]


class EventHandlers(Generic[R]):
    """One handler per event class; an event finds its handler by its exact class."""

    def __init__(self) -> None:
        self._by_class: dict[type[Any], Handler[R]] = {}

    def on(self, cls: type[E], handler: Callable[[E, Any], R]) -> None:
        if cls in self._by_class:
            msg = f"{cls.__qualname__} already has a handler"
            raise ValueError(msg)
        self._by_class[cls] = cast("Handler[R]", handler)

    def handler(self, event: object) -> Handler[R] | None:
        return self._by_class.get(type(event))

    def classes(self) -> tuple[type[Any], ...]:
        """The event classes handled, in registration order."""
        return tuple(self._by_class)


__all__ = ["EventHandlers", "Handler"]
