#!/bin/sh
# cluster.sh start DIR | stop DIR: a single-node Slurm cluster on this
# machine for test/test_slurm.sh, with every file it writes under DIR.
#
#   eval "$(sh test/slurm/cluster.sh start /tmp/slurm)"   # prints the export
#   make test                                             # runs test_slurm.sh
#   sh test/slurm/cluster.sh stop /tmp/slurm
#
# Needs Debian's slurm-wlm and munge (slurmctld, slurmd, munged, mungekey or
# /dev/urandom) and root: SlurmUser and SlurmdUser are root, so jobs run as
# the caller with no extra account. Written for Slurm 22.05 (Debian 12).
#
# Its own munged, key and socket, so it works whether or not the system's
# munge is installed, running or configured, and never touches /etc/munge
# (Slurm finds the socket through AuthInfo in the generated slurm.conf, so
# clients need only SLURM_CONF). No cgroups (proctrack/linuxproc, task/none):
# containers and CI machines often have no writable cgroup tree, and the test
# needs to run jobs, not to confine them. The node is declared with what
# `slurmd -C` measures, so slurmd never drains it for having less than
# slurm.conf claims. Ports 6817/6818 unless CLUSTER_PORT (the controller's;
# slurmd takes the next) says otherwise.
#
# start prints only `export ...` lines on stdout, for eval; progress and
# errors go to stderr. It returns once sinfo shows the node idle, or fails
# with the daemons' log tails after CLUSTER_TIMEOUT seconds (60), stopping
# what it had started. stop ends the daemons whose pid files are in DIR,
# and only if the pid still belongs to a process started for DIR.
set -eu

usage() {
    echo "usage: cluster.sh start DIR | stop DIR" >&2
    exit 2
}
[ $# -eq 2 ] || usage
cmd=$1
timeout=${CLUSTER_TIMEOUT:-60}
port=${CLUSTER_PORT:-6817}

say() { echo "cluster.sh: $*" >&2; }
die() {
    say "$*"
    exit 1
}

case $cmd in
    start) mkdir -p "$2" ;;
    stop) [ -d "$2" ] || die "$2: no such directory" ;;
    *) usage ;;
esac
# Absolute, because the daemons chdir and the printed SLURM_CONF must work
# from anywhere.
dir=$(cd "$2" && pwd -P)
case $dir in
    *[!A-Za-z0-9._/+-]*) die "$dir: use a directory whose path has no spaces or special characters (slurm.conf cannot quote them)" ;;
esac
# A Unix socket's path is at most 107 bytes.
[ ${#dir} -le 80 ] || die "$dir: path too long for munge's socket; use a shorter one"

conf=$dir/slurm.conf
socket=$dir/munge/munge.socket
daemons="slurmd slurmctld munged"

pidfile() { echo "$dir/run/$1.pid"; }

# ours NAME: the pid in NAME's pid file, if that process is alive and was
# started for this directory (every daemon gets DIR on its command line), so
# a stale pid file never makes us signal an unrelated process.
ours() {
    f=$(pidfile "$1")
    [ -s "$f" ] || return 1
    pid=$(cat "$f")
    case $pid in '' | *[!0-9]*) return 1 ;; esac
    [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$dir/" || return 1
    echo "$pid"
}

# running NAME: a process NAME started for DIR is alive, whether or not it
# has written its pid file yet.
running() {
    for c in /proc/[0-9]*/cmdline; do
        { tr '\0' ' ' <"$c"; } 2>/dev/null | grep -q "^$1 .*$dir/" && return 0
    done
    return 1
}

# all_up: every daemon started so far is still running.
all_up() {
    for d in $started; do
        ours "$d" >/dev/null || fail "$d exited"
    done
}

# wait_daemon NAME: until NAME's pid file names a live process of ours.
# slurmctld and slurmd fork before they bind their ports, so their exit
# status says nothing: a failure (a port in use) shows as no process left.
# A daemon between its fork and its pid file can be missed by one look at
# /proc (a CI run failed so while the daemon went on), so it counts as gone
# only when five looks in a row, a second, find no process of it.
wait_daemon() {
    n=$((timeout * 5))
    gone=0
    until ours "$1" >/dev/null; do
        if running "$1"; then gone=0; else gone=$((gone + 1)); fi
        [ $gone -lt 5 ] || fail "$1 exited as it started"
        all_up
        n=$((n - 1))
        [ $n -gt 0 ] || fail "$1 wrote no pid file in $timeout s"
        sleep 0.2
    done
    started="$started $1"
}

# wait_for SECONDS COMMAND...: poll COMMAND every 0.2 s until it succeeds.
wait_for() {
    n=$(($1 * 5))
    shift
    while ! "$@" >/dev/null 2>&1; do
        n=$((n - 1))
        [ $n -gt 0 ] || return 1
        sleep 0.2
    done
}

not_alive() { ! kill -0 "$1"; }

stop_all() {
    status=0
    for d in $daemons; do
        pid=$(ours "$d") || continue
        kill -TERM "$pid" 2>/dev/null || continue
        if ! wait_for 30 not_alive "$pid"; then
            say "$d (pid $pid) still running after 30 s: killing it"
            kill -KILL "$pid" 2>/dev/null || true
            wait_for 5 not_alive "$pid" || { say "$d (pid $pid) would not die"; status=1; }
        fi
        rm -f "$(pidfile "$d")"
    done
    return $status
}

# fail MESSAGE: the logs say why a daemon did not come up; show their ends,
# then stop whatever did start, so a failed start leaves nothing running.
fail() {
    say "$*"
    for log in munged slurmctld slurmd; do
        [ -s "$dir/log/$log.log" ] || continue
        echo "--- last lines of $dir/log/$log.log" >&2
        tail -n 20 "$dir/log/$log.log" >&2
    done
    stop_all || true
    exit 1
}

if [ "$cmd" = stop ]; then
    stop_all
    say "stopped the cluster in $dir"
    exit 0
fi

for d in $daemons; do
    if pid=$(ours "$d"); then die "$d is already running for $dir (pid $pid): stop it first"; fi
    # Left by a daemon that was killed: it would pass for a live one below.
    rm -f "$(pidfile "$d")"
done
# The daemons live in /usr/sbin, which a non-login root shell may not have.
PATH=$PATH:/usr/sbin:/sbin
for prog in munged slurmctld slurmd sinfo; do
    command -v "$prog" >/dev/null || die "$prog not found: apt-get install slurm-wlm munge"
done
[ "$(id -u)" -eq 0 ] || die "needs root (SlurmUser=root and SlurmdUser=root)"

# munged refuses a key or log in a directory others can write to, and a
# socket in one others cannot search (x): DIR and DIR/munge become 0711,
# the key file 0600.
umask 077
mkdir -p "$dir/munge" "$dir/run" "$dir/log" "$dir/state" "$dir/spool"
chmod 711 "$dir" "$dir/munge"
key=$dir/munge/munge.key
if [ ! -s "$key" ]; then
    if command -v mungekey >/dev/null; then
        mungekey --create --keyfile="$key"
    else
        dd if=/dev/urandom of="$key" bs=1024 count=1 2>/dev/null
    fi
fi
chmod 600 "$key"

munged --socket="$socket" --key-file="$key" --pid-file="$(pidfile munged)" \
    --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed" ||
    fail "munged did not start"
wait_for "$timeout" test -S "$socket" || fail "munged made no socket at $socket"
started=munged

host=$(hostname -s)
# "NodeName=vm CPUs=2 Boards=1 ... RealMemory=24105": keep the sizes.
node=$(slurmd -C | sed -n 's/^NodeName=[^ ]* //p')
[ -n "$node" ] || fail "slurmd -C printed no node line"

cat >"$conf" <<EOF
# Generated by test/slurm/cluster.sh: a one-node test cluster in $dir.
ClusterName=guidedbp-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$(pidfile slurmctld)
SlurmdPidFile=$(pidfile slurmd)
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
MailProg=/bin/true
# Cores and memory as consumable resources: a task of --cpus-per-task=1
# takes one core, so a 2-core node runs two array tasks at a time.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
# A node that was down (a previous cluster in this DIR) comes back idle.
ReturnToService=2
NodeName=$host NodeAddr=127.0.0.1 $node State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF

export SLURM_CONF="$conf"
slurmctld -f "$conf" || fail "slurmctld did not start"
wait_daemon slurmctld
slurmd -f "$conf" -N "$host" || fail "slurmd did not start"
wait_daemon slurmd

# Either daemon can still die (slurmd when it cannot reach slurmctld):
# fail at once rather than after the timeout.
n=$((timeout * 5))
until [ "$(sinfo -h -N -n "$host" -o %t 2>/dev/null)" = idle ]; do
    all_up
    n=$((n - 1))
    [ $n -gt 0 ] || fail "node $host not idle after $timeout s: sinfo says '$(sinfo -h -N -o %t 2>&1)'"
    sleep 0.2
done

say "node $host idle ($(echo "$node" | sed 's/ .*//')); logs in $dir/log"
echo "export SLURM_CONF=$conf"
