#!/usr/bin/env bash
# Install the built OHIF viewer (npm package @ohif/app, whose dist/ is the complete static app) at a pinned
# version into .cache/ohif/<version>/dist, for the real-viewer test (tests/integration/viewer/).
#
# Idempotent: nothing is fetched when that version is already installed and complete. The tarball comes from
# the npm registry through npm's own client (`npm pack`) and is checked against its pinned integrity hash;
# nothing is fetched from a CDN, at install time or when the app runs.
#
# Usage: tests/integration/viewer/install_ohif.sh [VERSION]   (default: the pinned version below)
set -euo pipefail

# Pinned: the newest 3.13.x on the registry. 3.14.0 exists only as a beta (3.14.0-beta.6) at the time of pinning.
DEFAULT_VERSION="3.13.2"
declare -A INTEGRITY=(
    ["3.13.2"]="sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq+jd5xXZB9E8EA=="
    ["3.14.0-beta.6"]="sha512-QwA0talqhh4VlUR+QgT2t8FP7NpX++4s6Z9Cp5VIcta3JMd2zGBPTp/R9t7JaX0Xi1AHAZAJxTv502R+SawaBg=="  # newest prerelease, tried by hand
)

VERSION="${1:-$DEFAULT_VERSION}"
ROOT="$(cd "$(dirname "$0")/../../.." && pwd)"
TARGET="$ROOT/.cache/ohif/$VERSION"
MARKER="$TARGET/INSTALLED"

if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "@ohif/app@$VERSION" ] && [ -f "$TARGET/dist/index.html" ]; then
    echo "@ohif/app@$VERSION already installed in $TARGET"
    exit 0
fi

command -v npm >/dev/null || { echo "npm is needed (Debian packages nodejs npm)" >&2; exit 1; }
expected="${INTEGRITY[$VERSION]:-}"
if [ -z "$expected" ]; then
    expected="$(npm view "@ohif/app@$VERSION" dist.integrity)"
    echo "warning: @ohif/app@$VERSION is not pinned here; using the registry's integrity $expected" >&2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
npm pack "@ohif/app@$VERSION" --pack-destination "$work" --silent >/dev/null
tarball="$work/ohif-app-$VERSION.tgz"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$actual" != "$expected" ]; then
    echo "integrity mismatch for @ohif/app@$VERSION: expected $expected, got $actual" >&2
    exit 1
fi
tar -xzf "$tarball" -C "$work" package/dist package/package.json
rm -rf "$TARGET"
mkdir -p "$TARGET"
mv "$work/package/dist" "$work/package/package.json" "$TARGET/"
echo "@ohif/app@$VERSION" > "$MARKER"
echo "installed @ohif/app@$VERSION in $TARGET"
