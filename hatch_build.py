"""Wheel build hook: ship the JVM helper jar (spark/jvm: the SDK-v2 item converter and the default
credentials chain for the connector) inside the wheel, so `pip install ddb-s3` is enough to launch
the connector reader on EMR from any machine (an Airflow worker has no Maven and no checkout).

The jar is taken from $DDB_S3_JARS_DIR or .cache/jars (`make jars`); when it is not there, Maven
builds it now. Editable installs (`uv sync`) skip this: a checkout finds the jar in .cache/jars."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

JAR_GLOB = "ddb-s3-spark-helpers-*.jar"
IN_WHEEL = "launcher/_jars/ddb-s3-spark-helpers.jar"


class HelperJarHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        root = Path(self.root)
        jars = Path(os.environ.get("DDB_S3_JARS_DIR") or root / ".cache" / "jars")
        found = sorted(jars.glob(JAR_GLOB))
        if not found:
            env = dict(os.environ, PYTHONPATH=str(root))
            subprocess.run([sys.executable, "-m", "launcher.export.run.jars", "build"], cwd=root, env=env, check=True)
            found = sorted(jars.glob(JAR_GLOB))
        if not found:
            raise RuntimeError(f"the helper jar ({JAR_GLOB}) is not in {jars} after the Maven build")
        build_data["force_include"][str(found[-1])] = IN_WHEEL
