"""Compiled regular expressions of configuration, cached (configuration patterns are few and reused)."""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=2048)
def compiled(pattern: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    return re.compile(pattern, flags)
