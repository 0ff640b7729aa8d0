# Shared by deploy/local/run and deploy/local/test: installs what Cairn needs from Debian's
# packages, and starts and stops a private PostgreSQL and Redis on loopback.
# Source it; it defines functions and changes nothing by itself.

CAIRN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DAEMONS=(cairn-repostore cairn-blobstore cairn-stream cairn-worker cairn-gateway)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs the Debian packages that are missing (needs root or sudo).
ensure_packages() {
  local wanted=(postgresql redis-server redis-tools libhiredis-dev pkg-config git git-lfs curl "$@")
  local missing=()
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "could not install ${missing[*]}"
  command -v git-lfs >/dev/null && git lfs install --system --skip-repo >/dev/null 2>&1 || true
}

pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] || die "PostgreSQL server binaries not found under /usr/lib/postgresql"
  echo "$dir"
}

# Runs a PostgreSQL server program as an unprivileged user: postgres when we are root.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# start_postgres DIR PORT [DB…]: a private cluster in DIR (made on first use) on 127.0.0.1:PORT,
# with role `cairn` owning databases cairn, cairn_analytics and any DB named.
start_postgres() {
  local dir="$1" port="$2" bin
  shift 2
  bin=$(pg_bindir)
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir" && chmod 700 "$dir"
  if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -w "$dir"; then
    die "PostgreSQL runs as the postgres user, who cannot reach $dir: make its parent folders traversable (chmod o+x) or set CAIRN_DATA to another folder"
  fi
  if [ ! -f "$dir/PG_VERSION" ]; then
    say "creating a PostgreSQL cluster in $dir"
    as_pg "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null || die "initdb failed"
  fi
  if ! as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    as_pg "$bin/pg_ctl" -D "$dir" -w -t 60 -l "$dir/server.log" \
      -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c fsync=${CAIRN_PG_FSYNC:-on} -c max_connections=${CAIRN_PG_MAX_CONNECTIONS:-200}" start >/dev/null \
      || { tail -n 20 "$dir/server.log" >&2; die "PostgreSQL did not start"; }
  fi
  local psql=(psql -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -qAt)
  "${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname='cairn'" | grep -q 1 \
    || "${psql[@]}" -c "CREATE ROLE cairn LOGIN CREATEDB" >/dev/null
  for db in cairn cairn_analytics "$@"; do
    "${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 \
      || "${psql[@]}" -c "CREATE DATABASE $db OWNER cairn" >/dev/null
  done
}

# start_replica PRIMARY_PORT DIR PORT: a streaming read replica of the cluster on
# PRIMARY_PORT, copied with pg_basebackup into DIR and serving on 127.0.0.1:PORT.
start_replica() {
  local primary="$1" dir="$2" port="$3" bin
  bin=$(pg_bindir)
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir" && chmod 700 "$dir"
  if [ ! -f "$dir/PG_VERSION" ]; then
    as_pg "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary" -U postgres -D "$dir" -R -X stream --checkpoint=fast >/dev/null \
      || die "pg_basebackup from port $primary failed"
  fi
  if ! as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    as_pg "$bin/pg_ctl" -D "$dir" -w -t 60 -l "$dir/server.log" \
      -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c hot_standby=on -c max_connections=${CAIRN_PG_MAX_CONNECTIONS:-200}" start >/dev/null \
      || { tail -n 20 "$dir/server.log" >&2; die "the PostgreSQL replica did not start"; }
  fi
}

stop_postgres() {
  local dir="$1"
  [ -f "$dir/postmaster.pid" ] && as_pg "$(pg_bindir)/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
}

# start_redis DIR PORT: a private Redis with its data (AOF) in DIR on 127.0.0.1:PORT.
start_redis() {
  local dir="$1" port="$2"
  mkdir -p "$dir"
  if ! redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
    redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --daemonize yes \
      --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --appendonly yes --save "" >/dev/null \
      || die "Redis did not start"
    for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
    die "Redis did not answer on port $port"
  fi
}

stop_redis() {
  local port="$1"
  redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
}

# build [debug|release]: builds every product; prints the folder of the executables.
build_cairn() {
  local mode="${1:-debug}"
  say "building ($mode)"
  (cd "$CAIRN_ROOT" && swift build -c "$mode" >&2) || die "the build failed"
  (cd "$CAIRN_ROOT" && swift build -c "$mode" --show-bin-path)
}

# write_config FILE DATA PGPORT REDISPORT PORTBASE: a JSON configuration for a local stack.
write_config() {
  local file="$1" data="$2" pgport="$3" redisport="$4" base="$5" key
  if [ -f "$data/signing.key" ]; then key=$(cat "$data/signing.key"); else
    key=$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=' | head -c 48)
    (umask 077 && printf '%s' "$key" > "$data/signing.key")
  fi
  (umask 077 && cat > "$file" <<JSON
{
  "log": { "level": "${CAIRN_LOG_LEVEL:-info}" },
  "signing": { "key": "$key" },
  "database": { "url": "postgres://cairn@127.0.0.1:$pgport/cairn" },
  "analytics": { "url": "postgres://cairn@127.0.0.1:$pgport/cairn_analytics" },
  "redis": { "url": "redis://127.0.0.1:$redisport/0" },
  "gateway": { "host": "127.0.0.1", "port": $base },
  "repostore": { "host": "127.0.0.1", "port": $((base + 1)), "root": "$data/repos" },
  "blobstore": { "host": "127.0.0.1", "port": $((base + 2)), "root": "$data/blobs" },
  "worker": { "host": "127.0.0.1", "port": $((base + 3)) },
  "stream": { "host": "127.0.0.1", "port": $((base + 4)) },
  "mail": { "maildir": "$data/mail" }
}
JSON
  )
}

# start_daemons BIN CONFIG LOGDIR: starts all five, records their pids, waits until each is ready.
start_daemons() {
  local bin="$1" config="$2" logs="$3"
  mkdir -p "$logs"
  for d in "${DAEMONS[@]}"; do
    "$bin/$d" --config "$config" >>"$logs/$d.log" 2>&1 &
    echo $! > "$logs/$d.pid"
  done
  local port
  for d in "${DAEMONS[@]}"; do
    port=$(daemon_port "$config" "$d")
    for i in $(seq 150); do
      curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
      kill -0 "$(cat "$logs/$d.pid")" 2>/dev/null || { tail -n 20 "$logs/$d.log" >&2; die "$d exited; its log is $logs/$d.log"; }
      [ "$i" -eq 150 ] && { tail -n 20 "$logs/$d.log" >&2; die "$d was not ready after 30 s; its log is $logs/$d.log"; }
      sleep 0.2
    done
  done
}

daemon_port() {
  local name="${2#cairn-}"
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]["port"])' "$1" "$name"
}

# stop_daemons LOGDIR: SIGTERM to each, then waits (they drain within their grace period).
stop_daemons() {
  local logs="$1" pid
  for d in "${DAEMONS[@]}"; do
    [ -f "$logs/$d.pid" ] && kill -TERM "$(cat "$logs/$d.pid")" 2>/dev/null || true
  done
  for d in "${DAEMONS[@]}"; do
    [ -f "$logs/$d.pid" ] || continue
    pid=$(cat "$logs/$d.pid")
    for _ in $(seq 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$logs/$d.pid"
  done
}
