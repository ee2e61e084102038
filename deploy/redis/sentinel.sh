#!/bin/sh
# One Redis Sentinel (docker-stack.yml and the Kubernetes component redis-sentinel). Sentinel
# rewrites its config file as it learns the topology, so the file is written at start into a
# writable tmpfs (the root file system is read-only). It monitors the master another sentinel
# names, else REDIS_INITIAL_MASTER: a sentinel restarted after a failover follows the new master.
#
# Environment: REDIS_MASTER_NAME, REDIS_INITIAL_MASTER (host), REDIS_SENTINELS (host:port,...),
# SENTINEL_ANNOUNCE_HOST (default `hostname -f`), REDIS_PORT (6379), SENTINEL_PORT (26379),
# SENTINEL_QUORUM (2), SENTINEL_DOWN_AFTER_MS (5000), SENTINEL_FAILOVER_TIMEOUT_MS (30000),
# SENTINEL_CONFIG (/tmp/sentinel.conf).
set -eu
: "${REDIS_MASTER_NAME:?}" "${REDIS_INITIAL_MASTER:?}" "${REDIS_SENTINELS:?}"
port=${SENTINEL_PORT:-26379}
me=${SENTINEL_ANNOUNCE_HOST:-$(hostname -f)}
conf=${SENTINEL_CONFIG:-/tmp/sentinel.conf}

master=$REDIS_INITIAL_MASTER
master_port=${REDIS_PORT:-6379}
for sentinel in $(echo "$REDIS_SENTINELS" | tr ',' ' '); do
  [ "${sentinel%:*}" = "$me" ] && continue
  reply=$(timeout 3 redis-cli -h "${sentinel%:*}" -p "${sentinel##*:}" --raw \
            sentinel get-master-addr-by-name "$REDIS_MASTER_NAME" 2>/dev/null | tr '\n' ' ') || true
  case $reply in
    *[0-9]" ") set -- $reply; master=$1; master_port=$2; break ;;
  esac
done

# Sentinel refuses a master host name it cannot resolve: wait for its DNS record (a fresh
# stack starts every service at once), then let the orchestrator restart us if it never comes.
tries=0
until getent hosts "$master" >/dev/null; do
  tries=$((tries + 1))
  [ "$tries" -ge 60 ] && { echo "sentinel: $master does not resolve" >&2; exit 1; }
  sleep 1
done

cat >"$conf" <<CONF
port $port
bind 0.0.0.0
protected-mode no
dir /tmp
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip $me
sentinel announce-port $port
sentinel monitor $REDIS_MASTER_NAME $master $master_port ${SENTINEL_QUORUM:-2}
sentinel down-after-milliseconds $REDIS_MASTER_NAME ${SENTINEL_DOWN_AFTER_MS:-5000}
sentinel failover-timeout $REDIS_MASTER_NAME ${SENTINEL_FAILOVER_TIMEOUT_MS:-30000}
sentinel parallel-syncs $REDIS_MASTER_NAME 1
CONF
echo "sentinel: $me monitors $REDIS_MASTER_NAME at $master:$master_port" >&2
exec redis-server "$conf" --sentinel
