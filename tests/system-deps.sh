#!/usr/bin/env bash
# Debian packages the tests need, installed when missing (safe to run again; any failure stops `make test`):
#   chromium + fonts-dejavu-core  the browser test drives chromium through Playwright
#   postgresql                    the storage/analytics suites also run on PostgreSQL (tests/pgfixtures.py starts a
#                                 private server from these binaries; the system's own cluster is not used or needed)
#   redis-server                  the broker of the Celery job runner tests (started privately by the tests too)
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
have_pg() { compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null \
            && command -v pg_dump >/dev/null 2>&1 && command -v pg_restore >/dev/null 2>&1; }
have_pg || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)

if [ ${#need[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "The tests need: ${need[*]}. Install them with your package manager, then run 'make test' again." >&2
    exit 1
  fi
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "Installing Debian packages for the tests: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# Check what the tests rely on, loudly: a missing piece here would otherwise fail every [pg] test one by one.
have_pg || { echo "PostgreSQL's server binaries (initdb, pg_ctl under /usr/lib/postgresql/*/bin) or pg_dump/pg_restore" \
                  "are still missing after installing 'postgresql'." >&2; exit 1; }
command -v redis-server >/dev/null 2>&1 || { echo "redis-server is still missing after installing it." >&2; exit 1; }
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
  # PostgreSQL refuses to run as root; the tests run their private servers as this user (Debian's package makes it)
  echo "The 'postgres' user is missing (Debian's postgresql package creates it); the [pg] tests run as root need it." >&2
  exit 1
fi
