#!/usr/bin/env bash
# Make sure PostgreSQL (127.0.0.1:5432, trust auth) and Redis (127.0.0.1:6379) answer.
# Starts them when they are installed but stopped; says how to install them otherwise.
set -euo pipefail

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! answers 6379; then
  if command -v redis-server >/dev/null; then
    echo "services: starting Redis on 127.0.0.1:6379"
    redis-server --daemonize yes --port 6379 --bind 127.0.0.1 --save '' --appendonly no >/dev/null
  else
    echo "services: Redis is not running and not installed: apt-get install -y redis-server" >&2; exit 1
  fi
fi

if ! answers 5432; then
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  if [ -z "$pgbin" ]; then
    echo "services: PostgreSQL is not running and not installed: apt-get install -y postgresql" >&2; exit 1
  fi
  echo "services: starting PostgreSQL on 127.0.0.1:5432"
  if ls /etc/postgresql/*/main >/dev/null 2>&1 && command -v pg_ctlcluster >/dev/null; then
    version=$(basename "$(dirname "$pgbin")")
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  fi
  if ! answers 5432; then
    # No cluster to start: a throwaway one, trust auth, loopback only.
    data=/tmp/elevate-pgdata
    if [ ! -f "$data/PG_VERSION" ]; then
      mkdir -p "$data" && chown postgres:postgres "$data"
      runuser -u postgres -- "$pgbin/initdb" -D "$data" -U postgres --auth=trust >/dev/null
    fi
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$data" -l "$data/server.log" \
      -o "-p 5432 -c listen_addresses=127.0.0.1 -c fsync=off -c unix_socket_directories=/tmp" -w start >/dev/null
  fi
fi

for _ in $(seq 1 50); do answers 5432 && answers 6379 && exit 0; sleep 0.2; done
echo "services: PostgreSQL or Redis still not answering on 127.0.0.1" >&2
exit 1
