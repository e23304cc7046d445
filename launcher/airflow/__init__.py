"""Airflow integration (install the `airflow` extra): DdbS3ExportOperator."""

from launcher.airflow.operators import DdbS3ExportOperator

__all__ = ["DdbS3ExportOperator"]
