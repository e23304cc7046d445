"""DynamoDB calls made outside Spark: DescribeTable (+ DescribeContinuousBackups) as a TableInfo."""

from __future__ import annotations

from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from launcher.aws.session import Aws
from launcher.core.errors import BadInput, DdbS3Error
from launcher.core.table import TableInfo, table_info_from_description


def describe_table(aws: Aws, table: str) -> TableInfo:
    ddb = aws.client("dynamodb")
    try:
        desc = ddb.describe_table(TableName=table)["Table"]
    except ClientError as e:
        code = e.response["Error"]["Code"]
        if code == "ResourceNotFoundException":
            raise BadInput(f"table {table!r} not found in {aws.region_name}: check --table and --region") from None
        if code in ("AccessDeniedException", "UnrecognizedClientException"):
            raise DdbS3Error(f"not allowed to describe table {table!r}: {e.response['Error'].get('Message', code)}") from None
        raise DdbS3Error(f"DescribeTable {table!r} failed: {code}") from None
    except EndpointConnectionError as e:
        raise DdbS3Error(f"cannot reach DynamoDB at {e.kwargs.get('endpoint_url')}: check --region / AWS_ENDPOINT_URL_DYNAMODB") from None
    except NoCredentialsError:
        raise DdbS3Error("no AWS credentials found: configure a profile, env vars or a role") from None
    if desc.get("TableStatus") not in ("ACTIVE", "UPDATING"):
        raise BadInput(f"table {table!r} is {desc.get('TableStatus')}, not ACTIVE: wait and try again")
    pitr = False
    try:
        cb = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
        pitr = cb.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") == "ENABLED"
    except ClientError:
        pass  # PITR is only needed by the native engine, which checks again and says why
    return table_info_from_description(desc, pitr)
