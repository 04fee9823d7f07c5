"""The one-line description of the machine that every benchmark table carries."""

from __future__ import annotations

import os
import platform


def describe(*libraries: str) -> str:
    """Architecture, cores, memory, Python, the named libraries' versions and the OS."""
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = []
    for name in libraries:
        module = __import__(name)
        versions.append(f"{getattr(module, '__name__', name)} {module.__version__}")
    return ", ".join(
        [
            platform.machine(),
            f"{os.cpu_count()} cores",
            f"{mem:.0f} GiB RAM",
            f"Python {platform.python_version()}",
            *versions,
            platform.platform(terse=True),
        ]
    )
