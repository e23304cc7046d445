#!/usr/bin/env bash
# EMR bootstrap action: install a pinned emr-dynamodb-connector (emr-dynamodb-hadoop) from Maven
# Central into /usr/lib/ddb-s3/, beside (not over) the release's own emr-ddb jar, which EMR
# installs after bootstrap actions run. The export step puts this jar first on its classpath.
#
#   install-connector.sh <version> [<maven-base-url>]
#   e.g. install-connector.sh 5.0.0
#
# The download is checked against Maven Central's published SHA-1; any failure fails the
# bootstrap action, so the cluster never starts with a half-installed connector.
set -euo pipefail

version="${1:?usage: install-connector.sh <version> [<maven-base-url>]}"
base="${2:-https://repo1.maven.org/maven2}"
case "$version" in
  *[!0-9.]* | "") echo "install-connector.sh: bad version '$version'" >&2; exit 2 ;;
esac

# DDB_S3_NODE_ROOT: the local EMR runs bootstrap actions in a node folder (empty on EMR).
dest="${DDB_S3_NODE_ROOT:-}/usr/lib/ddb-s3"
jar="emr-dynamodb-hadoop-${version}.jar"
url="${base}/com/amazon/emr/emr-dynamodb-hadoop/${version}/${jar}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

curl --fail --silent --show-error --location --retry 5 --retry-delay 3 -o "$tmp/$jar" "$url"
curl --fail --silent --show-error --location --retry 5 --retry-delay 3 -o "$tmp/$jar.sha1" "$url.sha1"
want="$(cut -c1-40 "$tmp/$jar.sha1")"
got="$(sha1sum "$tmp/$jar" | cut -c1-40)"
if [ "$want" != "$got" ]; then
  echo "install-connector.sh: SHA-1 mismatch for $url (want $want, got $got)" >&2
  exit 1
fi

sudo mkdir -p "$dest"
sudo install -m 0644 "$tmp/$jar" "$dest/$jar"
echo "installed $dest/$jar"
