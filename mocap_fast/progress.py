"""Progress for long work: a tqdm bar on stderr, only on a terminal, only for work over a second.

Tests, pipes and log files see nothing (tqdm's ``disable=None`` turns the bar off when stderr is
not a terminal); ``quiet=True`` turns it off everywhere.
"""

from __future__ import annotations

import sys

from tqdm import tqdm

DELAY_S = 1.0
"""Seconds before a bar appears: short calls print nothing."""


def progress_bar(total: int | None, desc: str, quiet: bool = False, unit: str = "it") -> tqdm:
    """A context-manager bar of ``total`` units (``None``: a count), ``update(n)`` to advance; off when ``quiet``."""
    return tqdm(total=total, desc=desc, unit=unit, disable=True if quiet else None, delay=DELAY_S,
                file=sys.stderr, leave=False, dynamic_ncols=True)


def note(msg: str, quiet: bool = False) -> None:
    """One line on stderr, on a terminal only (as the bars), unless ``quiet``."""
    if not quiet and sys.stderr is not None and sys.stderr.isatty():
        tqdm.write(f"mocap-fast: {msg}", file=sys.stderr)
