# Shared by deploy/local/run and deploy/local/test: installs what Cairn needs from Debian's
# packages, and starts and stops a private PostgreSQL and Redis on loopback.
# Source it; it defines functions and changes nothing by itself.

CAIRN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DAEMONS=(cairn-repostore cairn-blobstore cairn-stream cairn-worker cairn-sshd cairn-gateway)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs the Debian packages that are missing (needs root or sudo).
ensure_packages() {
  local wanted=(postgresql redis-server redis-tools libhiredis-dev zlib1g-dev pkg-config git git-lfs curl python3 python3-pygments "$@")
  local missing=()
  command -v ss >/dev/null || wanted+=(iproute2)
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
  "sshd": { "host": "127.0.0.1", "port": $((base + 5)), "sshPort": ${CAIRN_SSH_PORT:-2222}, "hostKeyFile": "$data/ssh/host_key" },
  "mail": { "maildir": "$data/mail" }
}
JSON
  )
}

# start_daemons BIN CONFIG LOGDIR: starts those of the six that are not already running (as
# their pid files tell), records their pids, waits until each is ready. A port held by anything
# else is reported before anything starts; if one fails, those this call started are stopped.
start_daemons() {
  local bin="$1" config="$2" logs="$3" d pid port holders i
  local conflicts=() started=()
  local -A running=()
  command -v ss >/dev/null || die "ss is missing (it comes with iproute2)"
  mkdir -p "$logs"
  for d in "${DAEMONS[@]}"; do
    pid=$(cat "$logs/$d.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && is_daemon "$pid" "$d" "$config"; then
      say "$d already running (pid $pid)"
      running[$d]=$pid
      continue
    fi
    rm -f "$logs/$d.pid"
    port=$(daemon_port "$config" "$d")
    holders=$(port_users "$port" "$config")
    [ -z "$holders" ] || conflicts+=("port $port, which $d needs, is held by $holders")
  done
  if [ ${#conflicts[@]} -gt 0 ]; then
    printf 'error: %s\n' "${conflicts[@]}" >&2
    die "nothing was started: stop what holds those ports, or choose other ports"
  fi
  for d in "${DAEMONS[@]}"; do
    [ -z "${running[$d]:-}" ] || continue
    "$bin/$d" --config "$config" >>"$logs/$d.log" 2>&1 &
    echo $! > "$logs/$d.pid"
    started+=("$d")
  done
  for d in "${DAEMONS[@]}"; do
    port=$(daemon_port "$config" "$d")
    pid=$(cat "$logs/$d.pid")
    for i in $(seq 150); do
      if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
        listens_on "$pid" "$port" && break
        start_failed "$logs" "$d" "(pid $pid) is not what answers on port $port: $(port_users "$port" "$config")" "${started[@]}"
      fi
      alive "$pid" || start_failed "$logs" "$d" "exited" "${started[@]}"
      if [ "$i" -eq 150 ]; then
        [ -z "${running[$d]:-}" ] || start_failed "$logs" "$d" "(pid $pid, already running) did not answer on port $port in 30 s; if it read other settings, deploy/local/run --stop stops it" "${started[@]}"
        start_failed "$logs" "$d" "was not ready after 30 s" "${started[@]}"
      fi
      sleep 0.2
    done
  done
}

# start_failed LOGDIR DAEMON WHY STARTED…: shows DAEMON's log, stops the daemons STARTED, dies.
start_failed() {
  local logs="$1" d="$2" why="$3" s pids=()
  shift 3
  tail -n 20 "$logs/$d.log" >&2
  for s in "$@"; do pids+=("$(cat "$logs/$s.pid")"); done
  [ $# -eq 0 ] || say "stopping what this run started: $*"
  terminate "${pids[@]}"
  for s in "$@"; do rm -f "$logs/$s.pid"; done
  die "$d $why; its log is $logs/$d.log"
}

daemon_port() {
  local name="${2#cairn-}"
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]["port"])' "$1" "$name"
}

# alive PID: true when process PID exists and is not a zombie.
alive() {
  local stat
  [[ "$1" =~ ^[0-9]+$ ]] || return 1
  { read -r stat < "/proc/$1/stat"; } 2>/dev/null || return 1
  stat="${stat##*) }"
  [ "${stat%% *}" != "Z" ]
}

# is_daemon PID NAME [CONFIG]: true when process PID runs the executable NAME (with
# --config CONFIG, when CONFIG is given; a relative path counts from the process's folder).
is_daemon() {
  local pid="$1" name="$2" config="${3:-}" args=() i given cwd
  alive "$pid" || return 1
  { mapfile -d '' -t args < "/proc/$pid/cmdline"; } 2>/dev/null || return 1
  [ ${#args[@]} -gt 0 ] && [ "${args[0]##*/}" = "$name" ] || return 1
  [ -n "$config" ] || return 0
  # The daemons read the first --config.
  for ((i = 1; i + 1 < ${#args[@]}; i++)); do
    [ "${args[i]}" = "--config" ] || continue
    given="${args[i + 1]}"
    if [[ "$given" != /* ]]; then
      cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || return 1
      given="$cwd/$given"
    fi
    [ "$(realpath -m -- "$given")" = "$(realpath -m -- "$config")" ] && return 0
    return 1
  done
  return 1
}

# daemon_of PID CONFIG: prints which of the six PID is, when it runs with --config CONFIG.
daemon_of() {
  local d
  for d in "${DAEMONS[@]}"; do
    if is_daemon "$1" "$d" "$2"; then echo "$d"; return 0; fi
  done
  return 1
}

# port_holders PORT: prints "PID NAME" for each process listening on TCP PORT, and "- ?" for a
# listener ss cannot name (another user's, or another PID namespace's); nothing when it is free.
port_holders() {
  local line named re='"([^"]*)",pid=([0-9]+)'
  command -v ss >/dev/null || return 0
  while IFS= read -r line; do
    named=""
    while [[ "$line" =~ $re ]]; do
      printf '%s %s\n' "${BASH_REMATCH[2]}" "${BASH_REMATCH[1]}"
      named=1
      line="${line#*"${BASH_REMATCH[0]}"}"
    done
    [ -n "$named" ] || echo "- ?"
  done < <(ss -ltnpH "sport = :$1" 2>/dev/null || true) | sort -u
}

# port_users PORT CONFIG: says what holds PORT, e.g. "python3 (pid 12)"; nothing when it is free.
port_users() {
  local pid name ours out=""
  while read -r pid name; do
    if [ "$pid" = "-" ]; then
      name="a process ss cannot name (another user's?)"
    elif ours=$(daemon_of "$pid" "$2"); then
      name="$name (pid $pid, a $ours of this stack whose pid file was lost: deploy/local/run --stop stops it)"
    else
      name="$name (pid $pid)"
    fi
    out="${out:+$out, }$name"
  done < <(port_holders "$1")
  echo "$out"
}

# listens_on PID PORT: true when process PID is among those listening on TCP PORT.
listens_on() {
  local pid name
  while read -r pid name; do
    if [ "$pid" = "$1" ]; then return 0; fi
  done < <(port_holders "$2")
  return 1
}

# our_daemons CONFIG: prints "PID NAME" for each process of the six running with --config
# CONFIG: those listening on the ports CONFIG gives, and any other that /proc shows.
our_daemons() {
  local config="$1" d port pid name arg0 p
  {
    if [ -f "$config" ]; then
      for d in "${DAEMONS[@]}"; do
        port=$(daemon_port "$config" "$d" 2>/dev/null) || continue
        while read -r pid name; do echo "$pid"; done < <(port_holders "$port")
      done
    fi
    for p in /proc/[0-9]*; do
      { IFS= read -r -d '' arg0 < "$p/cmdline"; } 2>/dev/null || continue
      if [[ " ${DAEMONS[*]} " == *" ${arg0##*/} "* ]]; then echo "${p#/proc/}"; fi
    done
  } | sort -u | while read -r pid; do
    if name=$(daemon_of "$pid" "$config"); then echo "$pid $name"; fi
  done
}

# terminate PID…: SIGTERM to each, waits up to 12 s for them to end, then SIGKILL to those left.
terminate() {
  local pid left=()
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null || true
  for _ in $(seq 120); do
    left=()
    for pid in "$@"; do
      if alive "$pid"; then left+=("$pid"); fi
    done
    [ ${#left[@]} -gt 0 ] || return 0
    sleep 0.1
  done
  say "killing ${left[*]}, still running after 12 s"
  kill -KILL "${left[@]}" 2>/dev/null || true
}

# stop_daemons LOGDIR [CONFIG]: stops the daemons whose pid files are in LOGDIR and, given
# CONFIG, any other of the six still running with --config CONFIG (say, its pid file lost):
# SIGTERM to each, then waits (they drain within their grace period), then SIGKILL.
stop_daemons() {
  local logs="$1" config="${2:-}" d pid name
  local -A stop=()
  for d in "${DAEMONS[@]}"; do
    pid=$(cat "$logs/$d.pid" 2>/dev/null || true)
    [ -n "$pid" ] || continue
    if is_daemon "$pid" "$d" "$config"; then
      stop[$pid]=$d
    elif alive "$pid"; then
      say "ignoring $logs/$d.pid: pid $pid is not $d of this stack"
    fi
  done
  if [ -n "$config" ]; then
    while read -r pid name; do
      [ -z "${stop[$pid]:-}" ] || continue
      say "$name (pid $pid) has no pid file in $logs; stopping it too"
      stop[$pid]=$name
    done < <(our_daemons "$config")
  fi
  terminate "${!stop[@]}"
  for d in "${DAEMONS[@]}"; do rm -f "$logs/$d.pid"; done
}
