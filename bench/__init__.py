"""`make bench`: measurements of ddb-s3 on the local stack (see docs/bench.md)."""
