#!/usr/bin/env bash
# EMR bootstrap action: a limit on the cluster itself. On the primary node, shut the node down after
# <seconds>, which ends the cluster whatever runs on it: EMR has no step timeout, and the
# AutoTerminationPolicy does not fire while a YARN application (a hung step) runs. The launcher
# terminates the cluster on every exit path it sees; this covers the launcher that died.
#
#   max-runtime.sh <seconds>
set -euo pipefail

seconds="${1:?usage: max-runtime.sh <seconds>}"
case "$seconds" in
  *[!0-9]* | "") echo "max-runtime.sh: bad seconds '$seconds'" >&2; exit 2 ;;
esac
# Only the primary node: shutting down a core node would only replace that node.
# (DDB_S3_NODE_ROOT: the local EMR's node folder; empty on EMR.)
info="${DDB_S3_NODE_ROOT:-}/mnt/var/lib/info/instance.json"
if [ -f "$info" ] && ! grep -q '"isMaster": *true' "$info"; then
  echo "max-runtime.sh: not the primary node, nothing to do"
  exit 0
fi
nohup sh -c "sleep $seconds && sudo shutdown -h now" >/dev/null 2>&1 &
echo "max-runtime.sh: this cluster shuts down after ${seconds}s"
