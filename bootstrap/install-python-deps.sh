#!/usr/bin/env bash
# EMR bootstrap action: install the export job's pinned Python dependencies on every node, for
# the python3 that Spark runs (the job itself needs only the standard library and boto3).
#
#   install-python-deps.sh <requirement>==<version> [...]
#   e.g. install-python-deps.sh boto3==1.44.5
#
# Only pinned requirements are accepted, so every node gets the same versions.
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: install-python-deps.sh <package>==<version> [...]" >&2
  exit 2
fi
for req in "$@"; do
  case "$req" in
    -*) echo "install-python-deps.sh: '$req' is an option, not a requirement" >&2; exit 2 ;;
    *==*) ;;
    *) echo "install-python-deps.sh: '$req' is not pinned (use name==version)" >&2; exit 2 ;;
  esac
done

python="${DDB_S3_PYTHON:-python3}"
sudo "$python" -m pip install --quiet --disable-pip-version-check --no-input "$@"
echo "installed for $python: $*"
