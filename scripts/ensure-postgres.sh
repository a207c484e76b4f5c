#!/usr/bin/env bash
# Make sure a PostgreSQL server answers at the test URL: start the machine's cluster if
# it is down, or fail loudly. PostgreSQL tests are never skipped silently.
set -euo pipefail
url="${1:-postgresql://postgres@127.0.0.1:5432/test}"
host=$(python3 -c 'import sys,urllib.parse as u; p=u.urlparse(sys.argv[1]); print(p.hostname or "127.0.0.1")' "$url")
port=$(python3 -c 'import sys,urllib.parse as u; p=u.urlparse(sys.argv[1]); print(p.port or 5432)' "$url")

ready() { pg_isready -q -h "$host" -p "$port" 2>/dev/null; }

if ready; then exit 0; fi
echo "ensure-postgres: nothing answers at $host:$port; starting the machine's cluster" >&2
if command -v pg_ctlcluster >/dev/null 2>&1; then
  for version in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
fi
for _ in $(seq 1 30); do
  if ready; then exit 0; fi
  sleep 1
done
echo "ensure-postgres: FAILED: no PostgreSQL server at $host:$port (set RUSWF_TEST_DATABASE_URL)" >&2
exit 1
