"""Fault injection over the wire for the tests: an HTTP proxy in front of dynalite and the moto S3
server that, following a seeded plan, answers with DynamoDB throttling errors, S3 503 SlowDown /
500 InternalError, drops connections (before or after the real server saw the request) and slows
responses, and counts everything it injected. See tests/faults/proxy.py."""

from .proxy import FaultPlan, FaultProxy, Rule, dynamodb_operation, s3_operation

__all__ = ["FaultPlan", "FaultProxy", "Rule", "dynamodb_operation", "s3_operation"]
