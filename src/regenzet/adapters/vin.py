"""VIN decoding with ``vininfo`` (a maintained library), behind the ``VinDecoder`` port."""

from __future__ import annotations

from vininfo import Vin
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
