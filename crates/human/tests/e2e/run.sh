#!/usr/bin/env bash
# End-to-end tests of the human study: playwright-core driving Debian's chromium against
# `learnscope human serve CONFIG --db FILE --port 0 --dev`, scenarios run by node's test runner.
#
#   LEARNSCOPE_HUMAN_SERVER   the server command prefix (default: target/release/learnscope
#                             human serve, else /work/target-h2/release/examples/serve)
#   E2E_TMP                   scratch directory (default: a new temp dir); failure artefacts
#                             (trace.zip, screenshots, server.log) land in E2E_TMP/<scenario>/
#   E2E_ONLY                  a glob of scenario files to run (e.g. 's3-*'), privacy still last
#
# Exit 0 all passed, 1 a failure, 2 skipped (no node or chromium and no way to install them).
# The last line is always `e2e: N passed, M failed` (`, K skipped` when any were skipped).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../../.." && pwd)"
cd "$here"

skip() {
  echo "e2e: skipped: $*" >&2
  echo "e2e: 0 passed, 0 failed, 1 skipped"
  exit 2
}

can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if can_apt; then
    echo "e2e: installing node and npm (apt-get)" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm) >/dev/null 2>&1 || true
  fi
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || skip "node/npm not available"
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || skip "node $node_major is too old (playwright-core needs >= 20)"

chromium="${LEARNSCOPE_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  if can_apt; then
    echo "e2e: installing chromium (apt-get; takes a minute)" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 || true
  fi
  [ -x "$chromium" ] || skip "chromium not available at $chromium"
fi
export LEARNSCOPE_CHROMIUM="$chromium"

if [ ! -d node_modules/playwright-core ]; then
  npm ci --no-audit --no-fund >&2 || skip "npm ci failed (no registry?)"
fi

if [ -z "${LEARNSCOPE_HUMAN_SERVER:-}" ]; then
  if [ -x "$repo/target/release/learnscope" ] && "$repo/target/release/learnscope" human serve --help >/dev/null 2>&1; then
    LEARNSCOPE_HUMAN_SERVER="$repo/target/release/learnscope human serve"
  else
    LEARNSCOPE_HUMAN_SERVER="/work/target-h2/release/examples/serve"
  fi
fi
server_bin="${LEARNSCOPE_HUMAN_SERVER%% *}"
if [ ! -x "$server_bin" ] && ! command -v "$server_bin" >/dev/null 2>&1; then
  echo "e2e: the server $server_bin does not exist; build it or set LEARNSCOPE_HUMAN_SERVER" >&2
  echo "e2e: 0 passed, 1 failed"
  exit 1
fi
export LEARNSCOPE_HUMAN_SERVER
# The front end is embedded in the binary (include_str!): a binary older than web/ tests stale files.
server_path="$(command -v "$server_bin" || echo "$server_bin")"
stale="$(find "$here/../../web" -type f -newer "$server_path" 2>/dev/null | head -3)"
if [ -n "$stale" ]; then
  echo "e2e: WARNING: $server_path is older than $(echo $stale | tr '\n' ' ')- rebuild it, it embeds crates/human/web/" >&2
fi
export LEARNSCOPE_HUMAN_ADMIN_TOKEN="${LEARNSCOPE_HUMAN_ADMIN_TOKEN:-test-token}"
export LEARNSCOPE_HUMAN_SECRET="${LEARNSCOPE_HUMAN_SECRET:-e2e-secret-not-for-production}"
export E2E_TMP="${E2E_TMP:-$(mktemp -d "${TMPDIR:-/tmp}/ls-e2e.XXXXXX")}"
mkdir -p "$E2E_TMP"
echo "e2e: server: $LEARNSCOPE_HUMAN_SERVER" >&2
echo "e2e: scratch and failure artefacts: $E2E_TMP" >&2

shopt -s nullglob
only="${E2E_ONLY:-s*}"
main=()
for f in scenarios/$only.test.mjs; do
  case "$f" in */s7-privacy.test.mjs) ;; *) main+=("$f") ;; esac
done
last=(scenarios/s7-privacy.test.mjs)

passed=0 failed=0 skipped=0
run_node() {
  local out="$E2E_TMP/tap-$1.txt"
  shift
  local rc=0
  node --test --test-reporter=tap --test-concurrency=2 --test-timeout=120000 "$@" 2>&1 | tee "$out" || rc=$?
  local p f s
  p="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$out" | tail -1)"
  f="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$out" | tail -1)"
  s="$(sed -n 's/^# skipped \([0-9]*\)$/\1/p' "$out" | tail -1)"
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
  skipped=$((skipped + ${s:-0}))
  if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then failed=$((failed + 1)); fi
}

start=$(date +%s)
[ "${#main[@]}" -gt 0 ] && run_node main "${main[@]}"
run_node privacy "${last[@]}"
echo "e2e: $(($(date +%s) - start)) s; artefacts of failures under $E2E_TMP" >&2
if [ "$skipped" -gt 0 ]; then
  echo "e2e: $passed passed, $failed failed, $skipped skipped"
else
  echo "e2e: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
