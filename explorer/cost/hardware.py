"""One hardware combination a design point is priced on."""
from __future__ import annotations

from dataclasses import dataclass

from hwmodels import Device, Link


@dataclass(frozen=True)
class Hardware:
    """One hardware combination: named device, link (with its mode) and server models."""

    device_name: str
    device: Device
    link_name: str
    link: Link
    server_name: str
    server: Device
