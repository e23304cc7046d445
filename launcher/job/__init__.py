"""Code that runs inside the Spark job, on the driver and executors (here or on EMR).

Shipped to the cluster as a zip with launcher/__init__.py, codec.py and layout.py; it needs only
the standard library and boto3, which EMR's Python has (bootstrap/ can pin a version)."""
