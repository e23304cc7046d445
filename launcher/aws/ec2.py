"""EC2 instance types as botocore's EC2 model lists them (data shipped with botocore, no call)."""

from __future__ import annotations

import difflib

import botocore.session

from launcher.core.errors import BadInput


def check_instance_type(name: str, known_cheaply: tuple[str, ...] | list[str] = ()) -> None:
    """BadInput, with the closest real type, unless `name` is an EC2 instance type."""
    if name in known_cheaply:
        return
    types = botocore.session.get_session().get_service_model("ec2").shape_for("InstanceType").enum
    if name not in types:
        near = difflib.get_close_matches(name, types, n=1)
        raise BadInput(f"--instance-type {name!r} is not an EC2 instance type" + (f" (did you mean {near[0]}?)" if near else ""))
