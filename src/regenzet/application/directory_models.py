"""Directory read models: customers, vehicles and staff to search and list (issue 11).

One row per entity, keyed by its own id, with the columns the lists filter and search on:
lower-case name words and email, phone digits, normalised plate, VIN (and reversed VIN, so
"the last digits of the VIN" is a prefix search too), owner, role, HV level, certificate
expiry. Every event rewrites exactly one row of its own entity, so the work per event never
grows with a customer's history (a fleet customer with thousands of vehicles costs the same
per event as anyone else).

Like the other read models these fold events into their aggregates (:class:`AggregateFolder`)
and render rows from the read DTOs in :mod:`regenzet.application.views`; the search keys are
made by the same functions the queries use (:func:`search_key`, :func:`plate_key`,
:func:`phone_key`), so a row and a query can never normalise differently.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from typing import Any

from regenzet.application import views
from regenzet.application.projections import Doc, ReadModelTx, TableSpec
from regenzet.application.read_models import Load, _Folding, _iso
from regenzet.domain.common import is_expired
from regenzet.domain.customer import Customer
from regenzet.domain.staff import StaffMember
from regenzet.domain.vehicle import Vehicle

_NOT_ALNUM = re.compile(r"[^0-9A-Z]")
_NOT_DIGIT = re.compile(r"[^0-9]")
_WORD_SPLIT = re.compile(r"[\s\-'.,]+")
# Sorts before every ISO date: "no certificate" is an expired one for the validity ranges.
NO_CERTIFICATE = ""
LAST_DAY = "9999-12-31"
# Searches shorter than this on a phone number would match nearly everyone.
MIN_PHONE_DIGITS = 3


def search_key(text: str) -> str:
    """Case- and width-insensitive form of a name or email (NFKC, case-folded, without
    control characters, which no stored name holds and Postgres text cannot)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c for c in folded if unicodedata.category(c) != "Cc").strip()


def name_words(name: str) -> list[str]:
    """The keys a name is found by: each word, and the whole name (so "anna de" matches)."""
    whole = search_key(name)
    words = [w for w in _WORD_SPLIT.split(whole) if w]
    return list(dict.fromkeys([whole, *words]))


def phone_key(text: str | None) -> str | None:
    digits = _NOT_DIGIT.sub("", unicodedata.normalize("NFKC", text or ""))
    return digits or None


def plate_key(text: str) -> str:
    """A plate or VIN without spaces, dashes and case: ``h-456 lf`` is ``H456LF``."""
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", text).upper())


class _DirectoryFolding(_Folding):
    """``_Folding`` over customers, vehicles and staff members (its kind table knows them)."""


class CustomerDirectory(_DirectoryFolding):
    """Customers by name (any word, prefix), email (prefix) or phone digits (prefix)."""

    name = "customer_directory"
    version = 1
    tables = (
        TableSpec(
            "customer_directory",
            indexes=("id", "name_key", "email_key", "phone_key"),
            lists=("name_words",),
            prefixes=("name_words", "email_key", "phone_key"),
        ),
    )
    cares = (Customer,)

    def on(self, kind: type[Any], aggregate: Any, event: Any, tx: ReadModelTx) -> None:
        row = customer_row(views.customer_view(aggregate), _iso(event.timestamp))
        tx.put("customer_directory", row["id"], row)


def customer_row(view: views.CustomerView, last_change: str | None) -> Doc:
    """A customer's directory row (also what ``regenzet bench search`` seeds)."""
    return {
        "id": str(view.id),
        "version": view.version,
        "name": view.name,
        "email": view.email,
        "phone": view.phone,
        "name_key": search_key(view.name),
        "name_words": name_words(view.name),
        "email_key": search_key(view.email),
        "phone_key": phone_key(view.phone),
        "last_change": last_change,
    }


def customer_query(q: str | None) -> tuple[tuple[str, str], ...]:
    """The prefix searches for a customer ``q``: a name word, an email, or phone digits."""
    if not q or not q.strip():
        return ()
    text = search_key(q)
    # Only control characters: nothing is left, and every key starts with "".
    searches = [("name_words", text), ("email_key", text)] if text else []
    digits = phone_key(q)
    if digits and len(digits) >= MIN_PHONE_DIGITS:
        searches.append(("phone_key", digits))
    return tuple(searches)


class VehicleDirectory(_DirectoryFolding):
    """Vehicles by plate (normalised prefix), VIN (prefix), the VIN's last characters, owner."""

    name = "vehicle_directory"
    version = 1
    tables = (
        TableSpec(
            "vehicle_directory",
            indexes=("owner_id", "plate_key", "vin", "vin_reversed"),
            prefixes=("plate_key", "vin", "vin_reversed"),
        ),
    )
    cares = (Vehicle,)

    def on(self, kind: type[Any], aggregate: Any, event: Any, tx: ReadModelTx) -> None:
        row = vehicle_row(aggregate, _iso(event.timestamp))
        tx.put("vehicle_directory", row["id"], row)


def vehicle_row(vehicle: Vehicle | Any, last_change: str | None) -> Doc:
    """A vehicle's directory row from anything with a vehicle's attributes (the aggregate, or
    what ``regenzet bench search`` seeds)."""
    return {
        "id": str(vehicle.id),
        "version": vehicle.version,
        "vin": vehicle.vin,
        "plate": vehicle.plate,
        "make": vehicle.make,
        "model": vehicle.model,
        "year": vehicle.year,
        "owner_id": str(vehicle.owner_id),
        "odometer_km": vehicle.odometer_km,
        "plate_key": plate_key(vehicle.plate),
        "vin_reversed": vehicle.vin[::-1],
        "last_change": last_change,
    }


def vehicle_query(q: str | None) -> tuple[tuple[str, str], ...]:
    """The prefix searches for a vehicle ``q``: plate, VIN, or the VIN's last characters."""
    text = plate_key(q or "")
    if not text:
        return ()
    return (("plate_key", text), ("vin", text), ("vin_reversed", text[::-1]))


class StaffDirectory(_DirectoryFolding):
    """Staff by role, active, qualified HV level and certificate expiry (the technician
    picker). Validity depends on the day asked, so rows keep the expiry date and the query
    compares it with today (:func:`staff_ranges`); :func:`staff_entry` adds today's level."""

    name = "staff_directory"
    version = 1
    tables = (
        TableSpec(
            "staff_directory",
            indexes=("name_key", "role", "active", "hv_level", "certificate_valid_until"),
        ),
    )
    cares = (StaffMember,)

    def on(self, kind: type[Any], aggregate: Any, event: Any, tx: ReadModelTx) -> None:
        view = views.staff_view(aggregate, event.timestamp.date())
        key = str(view.id)
        expires = _iso(view.certificate_expires_on)
        tx.put(
            "staff_directory",
            key,
            {
                "id": key,
                "version": view.version,
                "name": view.name,
                "email": view.email,
                "role": view.role,
                "active": view.active,
                "hv_level": view.hv_level,
                "certificate_id": view.certificate_id,
                "certificate_expires_on": expires,
                "name_key": search_key(view.name),
                "certificate_valid_until": expires if expires is not None else NO_CERTIFICATE,
                "last_change": _iso(event.timestamp),
            },
        )


def staff_ranges(
    today: date, *, min_hv_level: int | None, certificate_valid: bool | None
) -> tuple[tuple[str, Any, Any], ...]:
    """Index ranges for the staff filters. A level above 0 counts only with a certificate
    valid today (the domain's rule: an expired certificate is level 0)."""
    ranges: list[tuple[str, Any, Any]] = []
    valid = (today.isoformat(), LAST_DAY)
    if min_hv_level:
        ranges += [
            ("hv_level", str(min_hv_level), "9"),
            ("certificate_valid_until", *valid),
            ("active", "true", "true"),  # an inactive member's level is 0
        ]
    if certificate_valid is True and not min_hv_level:
        ranges.append(("certificate_valid_until", *valid))
    elif certificate_valid is False:
        ranges.append(
            ("certificate_valid_until", NO_CERTIFICATE, (today - timedelta(days=1)).isoformat())
        )
    return tuple(ranges)


def staff_entry(doc: Doc, today: date) -> Doc:
    """A staff row with the level and certificate validity that count ``today``."""
    expires = doc.get("certificate_expires_on")
    expires_on = date.fromisoformat(expires) if expires else None
    valid = expires_on is not None and not is_expired(expires_on, today)
    effective = doc["hv_level"] if doc["active"] and valid else 0
    row = {k: v for k, v in doc.items() if not k.endswith(("_key", "_valid_until"))}
    return {**row, "certificate_valid": valid, "effective_hv_level": effective}


def public_row(doc: Doc) -> Doc:
    """A directory row without its search keys."""
    return {
        k: v
        for k, v in doc.items()
        if not k.endswith(("_key", "_words", "_reversed", "_valid_until"))
    }


def directory_projections(load: Load) -> list[Any]:
    """The directory read models, each with its own fold cache."""
    return [CustomerDirectory(load), VehicleDirectory(load), StaffDirectory(load)]


__all__ = [
    "CustomerDirectory",
    "StaffDirectory",
    "VehicleDirectory",
    "customer_query",
    "customer_row",
    "directory_projections",
    "name_words",
    "phone_key",
    "plate_key",
    "public_row",
    "search_key",
    "staff_entry",
    "staff_ranges",
    "vehicle_query",
    "vehicle_row",
]
