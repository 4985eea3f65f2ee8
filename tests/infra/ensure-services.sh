#!/usr/bin/env bash
# Make sure the services the test suite needs exist: a PostgreSQL server (binaries) and Debian's
# Chromium for the browser tests. Installs them with apt-get when running as root; otherwise
# says how. With CI=true a missing service is an error, never a skip.
set -euo pipefail

missing=()
pg_bindir() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir; return
  fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}
[ -n "$(pg_bindir)" ] && [ -x "$(pg_bindir)/initdb" ] || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installerer testtjenester: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" fonts-dejavu-core >/dev/null
  exit 0
fi
echo "Testtjenester mangler: ${missing[*]}. Installér dem, fx: sudo apt-get install ${missing[*]}" >&2
if [ "${CI:-}" = "true" ]; then
  exit 1
fi
echo "Fortsætter; tests der kræver dem springes over (uden for CI)." >&2
