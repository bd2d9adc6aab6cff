"""The time zones people can pick: canonical "Region/City" names, without legacy aliases."""

from __future__ import annotations

import zoneinfo
from functools import cache

REGIONS = {
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
}


@cache
def _names() -> tuple[str, ...]:
    return tuple(
        sorted(
            n for n in zoneinfo.available_timezones() if n.split("/", 1)[0] in REGIONS and "/" in n
        )
    )


def time_zone_choices() -> list[tuple[str, str]]:
    return [("UTC", "UTC")] + [(name, name.replace("_", " ")) for name in _names()]
