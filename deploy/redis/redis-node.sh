#!/bin/sh
# One Redis data node of the sentinel topology (docker-stack.yml and the Kubernetes component
# redis-sentinel). It starts as a replica of the master the sentinels name; only when no
# sentinel answers does it fall back to REDIS_INITIAL_MASTER (master if that is this node,
# replica of it otherwise). So a node that comes back after a failover follows the new master
# instead of starting a second one.
#
# Environment: REDIS_MASTER_NAME, REDIS_SENTINELS (host:port,...), REDIS_INITIAL_MASTER (host),
# REDIS_ANNOUNCE_HOST (this node as the others reach it; default `hostname -f`),
# REDIS_PORT (6379), REDIS_DATA_DIR (/data).
set -eu
: "${REDIS_MASTER_NAME:?}" "${REDIS_SENTINELS:?}" "${REDIS_INITIAL_MASTER:?}"
port=${REDIS_PORT:-6379}
data=${REDIS_DATA_DIR:-/data}

# Started as root (the image's default user, as in Swarm): own the data volume, then drop to the
# image's redis user. Kubernetes starts it as that user already.
if [ "$(id -u)" = 0 ] && id redis >/dev/null 2>&1; then
  chown redis:redis "$data"
  exec setpriv --reuid=redis --regid=redis --init-groups sh "$0" "$@"
fi
me=${REDIS_ANNOUNCE_HOST:-$(hostname -f)}

# prints "host port" of the master the first answering sentinel names, or nothing
sentinels_master() {
  for sentinel in $(echo "$REDIS_SENTINELS" | tr ',' ' '); do
    reply=$(timeout 3 redis-cli -h "${sentinel%:*}" -p "${sentinel##*:}" --raw \
              sentinel get-master-addr-by-name "$REDIS_MASTER_NAME" 2>/dev/null | tr '\n' ' ') || true
    case $reply in
      *[0-9]" ") echo "$reply"; return ;;
    esac
  done
}

set -- $(sentinels_master)
master=${1:-$REDIS_INITIAL_MASTER}
master_port=${2:-$port}
set -- redis-server --port "$port" --bind 0.0.0.0 --protected-mode no \
  --dir "$data" --appendonly yes \
  --replica-announce-ip "$me" --replica-announce-port "$port"
if [ "$master" != "$me" ]; then
  echo "redis-node: $me starts as a replica of $master:$master_port" >&2
  set -- "$@" --replicaof "$master" "$master_port"
else
  echo "redis-node: $me starts as the master" >&2
fi
exec "$@"
