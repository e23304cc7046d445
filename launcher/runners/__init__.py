"""Runners execute a rendered step list: LocalRunner here (local Spark), EmrRunner on Amazon EMR.
Both take the same plan and the same rendered steps and return a RunResult."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunResult:
    export_uri: str
    result: dict[str, Any] = field(default_factory=dict)  # what the job reported (itemCount, ...)
    seconds: float = 0.0
    cluster_id: str | None = None
    logs: list[str] = field(default_factory=list)  # where the step logs are
