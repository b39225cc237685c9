"""VIN decoding with ``vininfo`` (a maintained library), behind the ``VinDecoder`` port."""

from __future__ import annotations

from vininfo import Vin
from vininfo.common import UnsupportedBrand
from vininfo.exceptions import ValidationError

from regenzet.domain.common import fail
from regenzet.domain.vehicle import VinFacts

# The check digit (position 9) is mandatory for vehicles made in or for North America and for
# China (WMI L); European and most other makers leave it free, so elsewhere it is only
# recorded as verified or not.
_CHECK_DIGIT_REGIONS = {"North America"}
_CHECK_DIGIT_WMI_PREFIXES = ("L",)


class VininfoVinDecoder:
    def decode(self, vin: str) -> VinFacts:
        try:
            decoded = Vin(vin)
        except ValidationError as exc:
            fail("vin", str(exc))
        _refuse_unreal(decoded)
        check_required = decoded.region in _CHECK_DIGIT_REGIONS or decoded.num.startswith(
            _CHECK_DIGIT_WMI_PREFIXES
        )
        verified = decoded.verify_checksum(check_year=False)
        if check_required and not verified:
            fail("vin", "check digit (position 9) does not match the VIN")
        return VinFacts(
            vin=decoded.num,
            wmi=decoded.wmi,
            manufacturer=str(decoded.manufacturer or "Unknown"),
            country=decoded.country,
            region=decoded.region,
            model_years=sorted(decoded.years),
            check_digit_verified=verified,
        )


def _refuse_unreal(decoded: Vin) -> None:
    """Refuses VINs that are well formed but cannot belong to a real vehicle.

    A VIN of one repeated character is a placeholder (``00000000000000000`` even "decodes",
    vininfo lists ``000`` as a Maserati WMI). Otherwise the WMI must be one vininfo knows (its
    own WMI table, by three or two characters, is the source) and its first character must
    name a region: an unknown maker is a typo far more often than a new manufacturer.
    """
    if len(set(decoded.num)) == 1:
        fail("vin", "is one character repeated, a placeholder rather than a real VIN")
    if isinstance(decoded.assembler, UnsupportedBrand):
        fail("vin", f"its manufacturer code (WMI) {decoded.wmi} is not a known manufacturer")
    if decoded.region is None:
        fail("vin", f"its first character {decoded.num[0]} does not name a world region")
