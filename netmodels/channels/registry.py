"""The channel family: name -> Channel class. A new channel is one file plus one line here."""
from __future__ import annotations

from netmodels.channels.awgn import AWGNChannel
from netmodels.channels.base import Channel
from netmodels.channels.digital import BECChannel, BSCChannel
from netmodels.channels.ideal import IdealChannel
from splitbase import ModelError, Registry

CHANNELS: Registry[type[Channel]] = Registry("channel", error=ModelError)
CHANNELS.add("none", IdealChannel)
CHANNELS.add("awgn", AWGNChannel)
CHANNELS.add("bec", BECChannel)
CHANNELS.add("bsc", BSCChannel)


def build_channel(name: str, **settings: object) -> Channel:
    """An instance of the channel registered as `name`, e.g. build_channel("awgn", psnr_db=20)."""
    cls = CHANNELS.get(name)
    try:
        return cls(**settings)
    except TypeError as exc:  # an unknown setting: say which channel and what went wrong
        raise ModelError(f"channel {name!r}: {exc}") from None
