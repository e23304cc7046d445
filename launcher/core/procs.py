"""Child processes that must not outlive us (Spark, the local servers)."""

from __future__ import annotations

import ctypes
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """preexec_fn: the child gets `sig` (SIGTERM) when the process that started it dies, even by
    SIGKILL, when no cleanup of ours can run (Linux prctl)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, sig)
