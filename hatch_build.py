"""Wheel build hook: ship the jars `make jars` leaves in .cache/jars inside the wheel (launcher/_jars),
so `pip install ddb-s3` is enough for every runner on a machine without Maven or a checkout: the
helper jar (spark/jvm: the SDK-v2 item converter, the credentials chain, the budgeted input format)
for EMR, plus emr-dynamodb-hadoop and gson for the local runner (~14 MB, Apache-2.0).

The jars are taken from $DDB_S3_JARS_DIR or .cache/jars; when the helper jar is not there, Maven
builds them now. Editable installs (`uv sync`) skip this: a checkout finds them in .cache/jars."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

JAR_GLOB = "ddb-s3-spark-helpers-*.jar"
TEMPLATE_DIRS = ("hive", "spark", "bootstrap")  # shipped as launcher/_templates/<dir>/..., without their jvm/ builds
IN_WHEEL = "launcher/_jars/ddb-s3-spark-helpers.jar"


class HelperJarHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        root = Path(self.root)
        for top in TEMPLATE_DIRS:  # the templates, not the Maven projects beside them
            for path in sorted((root / top).rglob("*")):
                rel = path.relative_to(root)
                if path.is_file() and "jvm" not in rel.parts and "__pycache__" not in rel.parts:
                    build_data["force_include"][str(path)] = f"launcher/_templates/{rel.as_posix()}"
        jars = Path(os.environ.get("DDB_S3_JARS_DIR") or root / ".cache" / "jars")
        found = sorted(jars.glob(JAR_GLOB))
        if not found:
            env = dict(os.environ, PYTHONPATH=str(root))
            subprocess.run([sys.executable, "-m", "launcher.export.run.jars", "build"], cwd=root, env=env, check=True)
            found = sorted(jars.glob(JAR_GLOB))
        if not found:
            raise RuntimeError(f"the helper jar ({JAR_GLOB}) is not in {jars} after the Maven build")
        build_data["force_include"][str(found[-1])] = IN_WHEEL
        for jar in sorted(jars.glob("*.jar")):  # the local runner's class path: the connector and gson
            if not jar.match(JAR_GLOB):
                build_data["force_include"][str(jar)] = f"launcher/_jars/{jar.name}"
