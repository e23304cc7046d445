"""EC2 instance types as botocore's EC2 model lists them (data shipped with botocore, no call)."""

from __future__ import annotations

import difflib

import botocore.session

from launcher.core.errors import BadInput


def check_instance_type(name: str, known_cheaply: tuple[str, ...] | list[str] = ()) -> None:
    """BadInput, with the closest real type, unless `name` is an EC2 instance type. A family newer
    than the installed botocore (m8g.xlarge on an older boto3) passes when its size is one botocore
    knows: a typo in a known family (m5.xlrge) or a size no family has is refused."""
    if name in known_cheaply:
        return
    types = botocore.session.get_session().get_service_model("ec2").shape_for("InstanceType").enum
    if name in types:
        return
    family, _, size = name.partition(".")
    families = {t.partition(".")[0] for t in types}
    sizes = {t.partition(".")[2] for t in types}
    if family not in families and size in sizes and family[:1].isalpha() and family.isalnum():
        return  # a family this botocore does not list yet; EMR refuses it if it is not offered
    near = difflib.get_close_matches(name, types, n=1)
    raise BadInput(f"--instance-type {name!r} is not an EC2 instance type" + (f" (did you mean {near[0]}?)" if near else ""))
