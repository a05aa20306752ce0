"""RFC 5322 date parsing (with the obsolete forms) to epoch seconds, without email.utils."""

from __future__ import annotations

import calendar
import re

_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
    )
}
_ZONES = {
    "ut": 0, "utc": 0, "gmt": 0, "z": 0,
    "edt": -4, "est": -5, "cdt": -5, "cst": -6, "mdt": -6, "mst": -7, "pdt": -7, "pst": -8,
}  # fmt: skip
_DATE = re.compile(
    r"\s*(?:[A-Za-z]+\s*,?\s*)?(\d{1,2})\s*[-\s]\s*([A-Za-z]{3})[A-Za-z]*\.?\s*[-\s]\s*(\d{2,4})"
    r"\s+(\d{1,2})\s*:\s*(\d{1,2})(?:\s*:\s*(\d{1,2}))?(?:\.\d+)?\s*([+-]\d{4}|[A-Za-z]+)?"
)


def _zone_offset(zone: str | None) -> int:
    if not zone:
        return 0
    if zone[0] in "+-":
        sign = -1 if zone[0] == "-" else 1
        return sign * (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60)
    return _ZONES.get(zone.lower(), 0) * 3600  # military and unknown zones: -0000


def parse_date(value: str) -> float | None:
    """``value`` (a Date: header) as epoch seconds; None when it is not a date."""
    m = _DATE.match(value)
    if m is None:
        return None
    day, mon, year, hour, minute, sec, zone = m.groups()
    month = _MONTHS.get(mon.lower())
    if month is None:
        return None
    y = int(year)
    if len(year) == 2:
        y += 2000 if y < 50 else 1900
    elif len(year) == 3:
        y += 1900
    d, h, mi, s = int(day), int(hour), int(minute), int(sec or 0)
    if not (1 <= d <= 31 and h <= 23 and mi <= 59 and s <= 60):
        return None
    try:
        stamp = calendar.timegm((y, month, d, h, mi, s, 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    return float(stamp - _zone_offset(zone))


__all__ = ["parse_date"]
