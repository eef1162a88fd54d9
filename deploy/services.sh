#!/usr/bin/env bash
# Bring up the backing services NNTSC needs on this host, all on loopback:
#   PostgreSQL 127.0.0.1:5432, Redis 127.0.0.1:6379, RabbitMQ 127.0.0.1:5672,
#   InfluxDB 127.0.0.1:8086 (our own influxd, data under <repo>/var/influxdb),
# and check that Chromium (used by the browser tests) is installed.
#
# Usage: deploy/services.sh {ensure|status|influx-start|influx-stop}
#
# Written for Debian containers/VMs without a running systemd, so services are
# started directly rather than through systemctl. Every subcommand is idempotent.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
INFLUX_TEMPLATE="$ROOT/deploy/influxdb.conf"
INFLUX_VAR="$ROOT/var/influxdb"
INFLUX_CONF="$INFLUX_VAR/influxdb.conf"
INFLUX_LOG="$INFLUX_VAR/influxd.log"
INFLUX_PID="$INFLUX_VAR/influxd.pid"

WAIT_SECONDS=60

log() { printf '%s\n' "$*"; }
warn() { printf 'services.sh: %s\n' "$*" >&2; }
die() { warn "$*"; exit 1; }

# True if something accepts TCP connections on host:port. The timeout guards
# against a filtered port hanging the connect.
port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# Wait until "$@" succeeds, polling once a second, for at most WAIT_SECONDS.
wait_for() {
    local name=$1; shift
    local i
    for ((i = 0; i < WAIT_SECONDS; i++)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 1
    done
    warn "$name did not come up within ${WAIT_SECONDS}s"
    return 1
}

# ---------------------------------------------------------------- health probes

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
redis_up() { [[ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" == PONG ]]; }
rabbit_up() { port_open 127.0.0.1 5672; }
influx_up() { curl -sf -o /dev/null --max-time 2 http://127.0.0.1:8086/ping; }

# ---------------------------------------------------------------- packages

# Debian package name -> is it usable? We test for the files we actually run
# rather than dpkg state, so services installed some other way also count.
pkg_present() {
    case $1 in
        postgresql) command -v pg_ctlcluster >/dev/null && command -v pg_isready >/dev/null \
                        && compgen -G '/etc/postgresql/*/main' >/dev/null ;;
        redis-server) command -v redis-server >/dev/null && command -v redis-cli >/dev/null ;;
        rabbitmq-server) command -v rabbitmq-server >/dev/null ;;
        influxdb) command -v influxd >/dev/null ;;
        chromium) [[ -x /usr/bin/chromium ]] ;;
        *) return 1 ;;
    esac
}

ensure_packages() {
    local missing=() pkg
    for pkg in postgresql redis-server rabbitmq-server influxdb chromium; do
        pkg_present "$pkg" || missing+=("$pkg")
    done
    if ((${#missing[@]} == 0)); then
        return 0
    fi

    if [[ $(id -u) -ne 0 ]]; then
        warn "missing packages: ${missing[*]}"
        warn "install them as root, then re-run this script:"
        warn "    sudo apt-get update && sudo apt-get install -y ${missing[*]}"
        exit 1
    fi
    log "installing: ${missing[*]}"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
    for pkg in "${missing[@]}"; do
        pkg_present "$pkg" || die "$pkg still not usable after apt-get install"
    done
}

# ---------------------------------------------------------------- starters

start_postgresql() {
    pg_up && return 0
    local version
    # Use the newest cluster if several major versions are installed (the
    # directory names are plain version numbers, so ls is safe here).
    # shellcheck disable=SC2012
    version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1 || true)"
    [[ -n $version ]] || die "no cluster under /etc/postgresql (try: pg_createcluster <version> main)"
    log "postgresql: starting cluster $version/main"
    # --skip-systemctl-redirect: there is no systemd to redirect to in containers.
    pg_ctlcluster --skip-systemctl-redirect "$version" main start \
        || warn "pg_ctlcluster failed (need root or the postgres user?)"
}

start_redis() {
    redis_up && return 0
    log "redis: starting"
    mkdir -p /var/log/redis /var/lib/redis
    # No persistence: Redis only holds caches and live-update queues here.
    # "-::1" binds ::1 if IPv6 is available and is skipped otherwise.
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
        --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log \
        || warn "redis-server failed to start (see /var/log/redis/ci.log)"
}

start_rabbitmq() {
    rabbit_up && return 0
    # The Erlang distribution port (25672) opens well before AMQP (5672); if it
    # is up the node is already booting and a second start would fail.
    if port_open 127.0.0.1 25672; then
        log "rabbitmq: node already booting, waiting for port 5672"
        return 0
    fi
    log "rabbitmq: starting"
    rabbitmq-server -detached || warn "rabbitmq-server -detached failed"
}

# Render the template: influxd does not expand variables in its config file.
influx_render_conf() {
    [[ -f $INFLUX_TEMPLATE ]] || die "missing $INFLUX_TEMPLATE"
    mkdir -p "$INFLUX_VAR"/{meta,data,wal}
    # Escape characters that are special in a sed replacement.
    local var_escaped
    var_escaped="$(printf '%s' "$INFLUX_VAR" | sed -e 's/[\\&|]/\\&/g')"
    sed -e "s|@VAR@|$var_escaped|g" "$INFLUX_TEMPLATE" >"$INFLUX_CONF.tmp"
    mv -f "$INFLUX_CONF.tmp" "$INFLUX_CONF"
}

# Prints the pid of the influxd we started, if it is still alive.
influx_our_pid() {
    local pid="" cmdline
    if [[ -f $INFLUX_PID ]]; then
        pid="$(<"$INFLUX_PID")"
        # Guard against pid reuse after a reboot or crash.
        if [[ $pid =~ ^[0-9]+$ && "$(cat "/proc/$pid/comm" 2>/dev/null)" == influxd ]]; then
            printf '%s\n' "$pid"
            return 0
        fi
    fi
    # No usable pid file (e.g. someone deleted var/ while influxd ran): look for
    # a process whose command line is exactly ours, config path included.
    for cmdline in /proc/[0-9]*/cmdline; do
        if [[ "$(tr '\0' ' ' 2>/dev/null <"$cmdline")" == "influxd -config $INFLUX_CONF " ]]; then
            pid="${cmdline#/proc/}"
            printf '%s\n' "${pid%/cmdline}"
            return 0
        fi
    done
    return 1
}

influx_start() {
    local pid
    command -v influxd >/dev/null || die "influxd not installed (apt-get install influxdb)"
    if influx_up; then
        if pid="$(influx_our_pid)"; then
            if [[ ! -d $INFLUX_VAR/data ]]; then
                # Its directories were deleted under it: writes would fail.
                warn "$INFLUX_VAR was removed while influxd (pid $pid) ran; restarting it"
                influx_stop
                influx_start
                return
            fi
            log "influxdb: already running (pid $pid)"
        else
            log "influxdb: something else already answers on 127.0.0.1:8086; leaving it alone"
        fi
        return 0
    fi
    if pid="$(influx_our_pid)"; then
        # Alive but not answering yet (e.g. still opening shards): just wait.
        log "influxdb: pid $pid is starting, waiting"
    else
        influx_render_conf
        log "influxdb: starting (config $INFLUX_CONF, log $INFLUX_LOG)"
        rm -f "$INFLUX_PID"
        # setsid puts influxd in its own session so it outlives the shell or CI
        # step that started it. setsid may fork, so $! is not reliably influxd's
        # pid: the inner shell records its own pid and then execs influxd.
        # shellcheck disable=SC2016  # $$ and $0/$1 expand in the inner shell
        nohup setsid bash -c 'echo $$ >"$0" && exec influxd -config "$1"' \
            "$INFLUX_PID" "$INFLUX_CONF" </dev/null >>"$INFLUX_LOG" 2>&1 &
    fi
    # Like wait_for, but give up early if influxd exits (e.g. a bad config or
    # the port taken) instead of polling a dead process for a minute.
    local i
    for ((i = 0; i < WAIT_SECONDS; i++)); do
        influx_up && return 0
        if ((i >= 2)) && ! influx_our_pid >/dev/null; then
            warn "influxd exited; last lines of $INFLUX_LOG:"
            break
        fi
        sleep 1
    done
    ((i < WAIT_SECONDS)) || warn "influxdb did not come up within ${WAIT_SECONDS}s; last lines of $INFLUX_LOG:"
    tail -n 20 "$INFLUX_LOG" >&2 || true
    return 1
}

influx_stop() {
    local pid i
    if ! pid="$(influx_our_pid)"; then
        rm -f "$INFLUX_PID"
        log "influxdb: not running (no live pid in $INFLUX_PID)"
        return 0
    fi
    log "influxdb: stopping pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 1
    done
    if kill -0 "$pid" 2>/dev/null; then
        warn "influxd pid $pid ignored SIGTERM for 30s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$INFLUX_PID"
    log "influxdb: stopped"
}

# ---------------------------------------------------------------- subcommands

# psql with trust auth is what the tests and the default config assume.
check_pg_trust() {
    if ! command -v psql >/dev/null; then
        warn "psql not found (apt-get install postgresql-client)"
        return 1
    fi
    # -w: never prompt; a prompt would mean password auth is configured.
    if ! psql -h 127.0.0.1 -U postgres -w -d postgres -tAc 'SELECT 1' >/dev/null 2>&1; then
        warn "PostgreSQL is up but 'psql -h 127.0.0.1 -U postgres' is refused."
        warn "For a dev/CI box, allow trust auth on loopback: in"
        warn "/etc/postgresql/<version>/main/pg_hba.conf set"
        warn "    host all all 127.0.0.1/32 trust"
        warn "    host all all ::1/128      trust"
        warn "then: pg_ctlcluster --skip-systemctl-redirect <version> main reload"
        warn "(or set PGPASSWORD / NNTSC_SQL_URL with a password instead)."
        return 1
    fi
}

cmd_ensure() {
    ensure_packages
    start_postgresql
    start_redis
    start_rabbitmq
    influx_start || true   # failure is reported by the wait below

    local failed=0
    if wait_for postgresql pg_up; then
        if check_pg_trust; then
            log "postgresql: running"
        else
            log "postgresql: running (but passwordless psql -U postgres refused)"
            failed=1
        fi
    else
        log "postgresql: DOWN"; failed=1
    fi
    if wait_for redis redis_up; then log "redis: running"; else log "redis: DOWN"; failed=1; fi
    if wait_for rabbitmq rabbit_up; then
        # Stronger check when available; TCP is enough, so only warn on failure
        # (it can fail for non-root users who cannot read the Erlang cookie).
        if command -v rabbitmq-diagnostics >/dev/null \
            && ! timeout 20 rabbitmq-diagnostics -q check_port_connectivity >/dev/null 2>&1; then
            warn "rabbitmq-diagnostics check_port_connectivity failed (port 5672 is open though)"
        fi
        log "rabbitmq: running"
    else
        log "rabbitmq: DOWN"; failed=1
    fi
    if wait_for influxdb influx_up; then log "influxdb: running"; else log "influxdb: DOWN"; failed=1; fi
    if pkg_present chromium; then log "chromium: installed"; else log "chromium: MISSING"; failed=1; fi
    return "$failed"
}

cmd_status() {
    local failed=0 pid
    if pg_up; then log "postgresql: running"; else log "postgresql: down"; failed=1; fi
    if redis_up; then log "redis: running"; else log "redis: down"; failed=1; fi
    if rabbit_up; then log "rabbitmq: running"; else log "rabbitmq: down"; failed=1; fi
    if influx_up; then
        if pid="$(influx_our_pid)"; then
            if [[ -d $INFLUX_VAR/data ]]; then
                log "influxdb: running (ours, pid $pid)"
            else
                log "influxdb: BROKEN (ours, pid $pid, but $INFLUX_VAR was deleted; run ensure)"
                failed=1
            fi
        else
            log "influxdb: running (not started by this script)"
        fi
    else
        log "influxdb: down"; failed=1
    fi
    if pkg_present chromium; then log "chromium: installed"; else log "chromium: missing"; failed=1; fi
    return "$failed"
}

usage() {
    cat >&2 <<EOF
usage: $0 {ensure|status|influx-start|influx-stop}
  ensure        install (as root) and start PostgreSQL, Redis, RabbitMQ, InfluxDB; check Chromium
  status        report which services answer; exit 1 if any is down
  influx-start  start our influxd (data in $INFLUX_VAR)
  influx-stop   stop the influxd recorded in $INFLUX_PID
EOF
    exit 2
}

case ${1:-} in
    ensure) cmd_ensure ;;
    status) cmd_status ;;
    influx-start) influx_start ;;
    influx-stop) influx_stop ;;
    *) usage ;;
esac
