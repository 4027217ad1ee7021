"""Rate limits on comment posts and failed staff sign-ins, built once with the services.

Both count in Redis when ``WEBMAP_REDIS_URL`` is set (so every worker and host shares the
count, in moving windows) and otherwise in a SQLite file in the data directory (every worker
of this host shares it, in fixed windows; ``ratestore``); this process's memory is the
fallback when the store fails. They are made on first use: a command-line run never needs
them and never imports the web libraries they come from.
"""

from __future__ import annotations

import logging
from functools import cached_property
from typing import TYPE_CHECKING

from .settings import Settings

if TYPE_CHECKING:
    from flask_limiter import Limiter
    from limits.strategies import RateLimiter


class RateLimits:
    """The limiters of one service graph."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def storage_uri(self) -> str:
        """Where counts are kept: the shared Redis, or the host's SQLite file."""
        if self.settings.redis_url:
            return self.settings.redis_url
        from . import ratestore

        return ratestore.storage_uri(self.settings.data_dir)

    @property
    def strategy(self) -> str:
        """Moving windows in Redis; fixed windows in the SQLite file."""
        return "moving-window" if self.settings.redis_url else "fixed-window"

    @cached_property
    def sign_in(self) -> tuple[RateLimiter, ...]:
        """Failed sign-ins per address: the shared store first, this process's when it fails."""
        from limits import storage, strategies

        shared = storage.storage_from_string(self.storage_uri)
        if self.settings.redis_url:
            return (strategies.MovingWindowRateLimiter(shared),
                    strategies.MovingWindowRateLimiter(storage.MemoryStorage()))
        return (strategies.FixedWindowRateLimiter(shared),
                strategies.FixedWindowRateLimiter(storage.MemoryStorage()))

    @cached_property
    def comment_posts(self) -> Limiter | None:
        """Comment posts per address (``WEBMAP_COMMENT_RATE_LIMIT``), None when ``off``."""
        if self.settings.comment_rate_limit == "off":
            return None
        from flask_limiter import Limiter
        from flask_limiter.util import get_remote_address

        # flask-limiter logs the client address of each breach at INFO: personal data.
        logging.getLogger("flask-limiter").setLevel(logging.WARNING)
        return Limiter(get_remote_address, storage_uri=self.storage_uri,
                       strategy=self.strategy, key_prefix="webmap-comments",
                       in_memory_fallback_enabled=True, swallow_errors=True,
                       headers_enabled=False)
