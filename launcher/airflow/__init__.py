"""Airflow integration (install the `airflow` extra): the export, verify and restore operators,
and the trigger a deferrable export waits in."""

from launcher.airflow.operators import DdbS3ExportOperator, DdbS3RestoreOperator, DdbS3VerifyOperator
from launcher.airflow.triggers import DdbS3RunTrigger

__all__ = ["DdbS3ExportOperator", "DdbS3RestoreOperator", "DdbS3RunTrigger", "DdbS3VerifyOperator"]
