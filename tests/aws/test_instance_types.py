"""Instance types are checked against botocore's EC2 model (no call): typos are refused with the
closest real type, and a family newer than the installed botocore still passes."""

import pytest

from launcher.aws.ec2 import check_instance_type
from launcher.core.errors import BadInput

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("name", ["m5.xlarge", "r6i.2xlarge", "m7g.metal", "zz9q.xlarge"])
def test_real_types_and_a_family_this_botocore_does_not_list_pass(name):
    check_instance_type(name)  # zz9q: no such family in any botocore, shaped like one with a real size


@pytest.mark.parametrize(
    "name, near", [("m5.xlrge", "m5.xlarge"), ("m5xlarge", None), ("m5.", None), ("zz9q.hugest", None), ("m5.xlarge; rm -rf /", None)]
)
def test_typos_and_shapes_that_are_no_type_are_refused(name, near):
    with pytest.raises(BadInput) as e:
        check_instance_type(name)
    assert f"--instance-type {name!r} is not an EC2 instance type" in str(e.value)
    if near:
        assert f"(did you mean {near}?)" in str(e.value)
