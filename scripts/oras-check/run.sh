#!/usr/bin/env bash
# An independent OCI client against `appr-core serve --token`: oras-go v1 (Debian's
# golang-oras-oras-go-dev: the library and containerd resolver Helm 3.8-3.12 use) pushes a chart
# through the Bearer token flow, pulls it back, and pulls a release pushed through the appr API
# (served live at /v2/); a wrong password must fail. Not part of npm test or .ci/run (it needs Go
# and about 300 MB of Debian packages):
#   apt-get install -y --no-install-recommends golang-go golang-oras-oras-go-dev
#   bash scripts/oras-check/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
(cd "$here" && GOPATH=/usr/share/gocode GO111MODULE=off go build -o "$work/oras-check" .)
cd "$root"
node --conditions=source --import tsx src/cli/main.ts serve --store memory --port 0 --token oras-secret > "$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do grep -q '"listening"' "$work/serve.log" && break; sleep 0.5; done
url=$(grep -o '"url":"[^"]*"' "$work/serve.log" | head -1 | cut -d'"' -f4)
host=${url#http://}
chart=test/fixtures/hello-0.1.0+b1.tgz
node --conditions=source --import tsx src/cli/main.ts push acme/hello "$chart" --release 0.1.0+b1 --format helm --registry "$url" --token oras-secret
"$work/oras-check" "$host" anyone oras-secret "$chart" acme/hello:0.1.0_b1 0.1.0
if "$work/oras-check" "$host" anyone wrong "$chart" acme/hello:0.1.0_b1 0.2.0 2>/dev/null; then
  echo "FAIL a wrong password pushed"
  exit 1
fi
echo "ok a wrong password is refused"
grep -c '"path":"/v2/token' "$work/serve.log" | sed 's/^/token requests: /'
