#!/usr/bin/env bash
# A one-node Ceph cluster with its S3 gateway, bound to 127.0.0.1, all of its state in one folder:
# one monitor, one OSD on memstore (RAM, nothing on disk), no manager, radosgw on a given port.
#   ceph-rgw.sh start DIR PORT [OWNER_PID]   prints "ACCESS_KEY SECRET_KEY" once S3 answers on PORT
#   ceph-rgw.sh stop DIR                     stops every daemon it started (by the pids it recorded)
# Should OWNER_PID (the test process) end without stopping the cluster, a watchdog stops it and
# removes DIR: nothing is left running or on disk, not even after a test killed by its timeout.
# Needs Debian's radosgw, ceph-mon and ceph-osd. Exits 2 when they are not installed.
set -euo pipefail

command_name=${1:-}
dir=${2:-}
[ -n "$command_name" ] && [ -n "$dir" ] || { echo "usage: $0 start DIR PORT [OWNER_PID] | stop DIR" >&2; exit 64; }

stop() {
  for pidfile in "$dir"/run/*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
  done
  for pidfile in "$dir"/run/*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

if [ "$command_name" = stop ]; then stop; exit 0; fi
[ "$command_name" = start ] || { echo "unknown command $command_name" >&2; exit 64; }
port=${3:?port}
owner=${4:-}
for binary in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph; do
  command -v "$binary" >/dev/null || { echo "$binary is not installed (apt install radosgw ceph-mon ceph-osd)" >&2; exit 2; }
done

# A step that fails names itself, and nothing started so far is left running.
trap 'echo "ceph-rgw.sh: \"$BASH_COMMAND\" failed (line $LINENO); see $dir/log" >&2; stop' ERR
mkdir -p "$dir"/run "$dir"/log "$dir"/mon "$dir"/osd
if [ -n "$owner" ]; then
  # Its own session and no open stdio: the caller (execFile) waits for neither.
  setsid bash -c 'while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 2; done; [ -d "$2" ] && "$3" stop "$2" && rm -rf "$2"' \
    watchdog "$owner" "$dir" "$0" </dev/null >/dev/null 2>&1 &
fi
# The monitor's port: the gateway's plus one, so that one free pair is all a caller finds.
mon_port=$((port + 1))
fsid=$(cat /proc/sys/kernel/random/uuid)
conf="$dir/ceph.conf"
cat > "$conf" <<CONF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$mon_port
public addr = 127.0.0.1
ms bind msgr2 = false
auth cluster required = none
auth service required = none
auth client required = none
run dir = $dir/run
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
mon cluster log file = $dir/log/cluster.log
pid file = $dir/run/\$name.pid
mon data = $dir/mon/\$name
osd data = $dir/osd/\$name
osd objectstore = memstore
memstore device bytes = 1073741824
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
osd crush update on start = false
osd class update on start = false
mon allow pool size one = true
mon allow pool delete = true
# Each of the pools radosgw makes at its start waits for the next OSD map, which the monitor
# proposes once a second by default: 10 s of a 12 s start. Proposed at once, it starts in 3.
paxos propose interval = 0.05
paxos min wait = 0.01
mon warn on pool no redundancy = false
mon max pg per osd = 1000
osd max object name len = 256
osd max object namespace len = 64
[client.rgw.test]
rgw frontends = beast endpoint=127.0.0.1:$port
rgw data = $dir/rgw
CONF

monmaptool --create --fsid "$fsid" --addv a "[v1:127.0.0.1:$mon_port]" "$dir/monmap" >/dev/null
ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" >/dev/null
ceph-mon -c "$conf" -i a
ceph -c "$conf" osd create >/dev/null
mkdir -p "$dir/osd/osd.0"
ceph-osd -c "$conf" -i 0 --mkfs >"$dir/log/osd-mkfs.out" 2>&1
# The OSD is placed in the CRUSH map here, not by itself as it starts: with auth none, its own
# commands to the monitor can go out before the monitor map came, with an empty fsid, and the
# monitor refuses them ('wrong fsid'), which stops the OSD (now and then, more often under load).
ceph -c "$conf" osd crush add osd.0 1.0 root=default host=localhost >/dev/null
ceph-osd -c "$conf" -i 0
mkdir -p "$dir/rgw"
radosgw -c "$conf" -n client.rgw.test

access_key=CLOUDSTORETEST$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
secret_key=$(head -c 30 /dev/urandom | base64 | tr -d '/+=\n')
for _ in $(seq 1 120); do
  if (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.5
done
(echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "radosgw did not listen on 127.0.0.1:$port; see $dir/log" >&2; stop; exit 1; }
radosgw-admin -c "$conf" -n client.rgw.test --admin-socket="" user create --uid=cloudstore --display-name=cloudstore \
  --access-key="$access_key" --secret-key="$secret_key" >/dev/null
echo "$access_key $secret_key"
