import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUSYBOX } from './initramfs.js';
import { hostAddress, hostRoot, LAB_HOSTS, type LabHost } from './topology.js';

/**
 * The SysV init script that stands for what the httpd package installs: busybox httpd on port
 * 80 serving `<root>/var/www/html`, pidfile `<root>/var/run/httpd.pid`, LSB exit codes
 * (status: 0 running, 1 dead with pidfile, 3 stopped). It serves in whatever network
 * namespace it is started from.
 */
export function httpdInitScript(root: string): string {
  return `#!/bin/sh
#
# httpd        Start/stop the web server (lvsctl lab: busybox httpd stands in for Apache).
#
# chkconfig: - 85 15
# description: web server serving ${root}/var/www/html on port 80
# processname: httpd
# pidfile: ${root}/var/run/httpd.pid
#
### BEGIN INIT INFO
# Provides: httpd
# Required-Start: $network
# Required-Stop: $network
# Default-Start:
# Default-Stop: 0 1 6
# Short-Description: web server
### END INIT INFO

ROOT=${root}
DOCROOT=$ROOT/var/www/html
PIDFILE=$ROOT/var/run/httpd.pid
LOGFILE=$ROOT/var/log/httpd.log
BUSYBOX=${BUSYBOX}

running() {
  [ -f "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE" 2>/dev/null)
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\\000' ' ' < "/proc/$pid/cmdline" | grep -q "httpd -f -p 80 -h $DOCROOT"
}

start() {
  if running; then echo "httpd (pid $pid) is already running"; return 0; fi
  mkdir -p "$DOCROOT" "$ROOT/var/run" "$ROOT/var/log"
  printf 'Starting httpd: '
  $BUSYBOX setsid $BUSYBOX httpd -f -p 80 -h "$DOCROOT" </dev/null >>"$LOGFILE" 2>&1 &
  echo $! > "$PIDFILE"
  i=0
  while [ $i -lt 20 ]; do
    if running; then echo '[  OK  ]'; return 0; fi
    i=$((i + 1)); sleep 0.1
  done
  echo '[FAILED]'; rm -f "$PIDFILE"; return 1
}

stop() {
  printf 'Stopping httpd: '
  if running; then
    kill "$pid"
    i=0
    while [ $i -lt 50 ] && [ -d "/proc/$pid" ]; do i=$((i + 1)); sleep 0.1; done
    [ -d "/proc/$pid" ] && kill -9 "$pid"
  fi
  rm -f "$PIDFILE"
  echo '[  OK  ]'
  return 0
}

status() {
  if running; then echo "httpd (pid $pid) is running..."; return 0; fi
  if [ -f "$PIDFILE" ]; then echo "httpd dead but pid file exists"; return 1; fi
  echo "httpd is stopped"; return 3
}

case "$1" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  restart|reload|force-reload) stop; start ;;
  condrestart|try-restart) if running; then stop; start; fi ;;
  *) echo "Usage: httpd {start|stop|status|restart|reload|condrestart}"; exit 2 ;;
esac
exit $?
`;
}

function write(path: string, text: string, mode = 0o644): void {
  writeFileSync(path, text, { mode });
  chmodSync(path, mode);
}

/**
 * What a freshly installed RHEL-like host has where our roles look, laid out for one lab host:
 * /etc/sysconfig (network, network-scripts/ifcfg-eth0), an empty /etc/sysctl.conf,
 * /etc/yum.repos.d, /etc/rc.d/{init.d,rc0.d..rc6.d} with the /etc/init.d and /etc/rcN.d links,
 * the httpd init script, /var/www/html, /var/run, /var/log.
 */
export function writeHostSkeleton(dir: string, h: LabHost): void {
  const root = hostRoot(h.name);
  const d = (p: string): string => {
    const full = join(dir, p);
    mkdirSync(full, { recursive: true });
    return full;
  };
  d('etc/sysconfig/network-scripts');
  d('etc/yum.repos.d');
  d('etc/rc.d/init.d');
  d('etc/pki/rpm-gpg');
  d('var/www/html');
  d('var/run');
  d('var/log');
  d('var/lock/subsys');
  d('tmp');
  for (let n = 0; n <= 6; n++) {
    d(`etc/rc.d/rc${n}.d`);
    symlinkSync(`rc.d/rc${n}.d`, join(dir, `etc/rc${n}.d`));
  }
  symlinkSync('rc.d/init.d', join(dir, 'etc/init.d'));
  write(join(dir, 'etc/sysconfig/network'), `NETWORKING=yes\nHOSTNAME=${h.name}\n`);
  const [addr, bits] = h.data[0]!.split('/');
  write(
    join(dir, 'etc/sysconfig/network-scripts/ifcfg-eth0'),
    `DEVICE=eth0\nTYPE=Ethernet\nONBOOT=yes\nBOOTPROTO=none\nIPADDR=${addr}\nPREFIX=${bits}\n`,
  );
  write(join(dir, 'etc/sysctl.conf'), '');
  write(join(dir, 'etc/hostname'), `${h.name}\n`);
  write(join(dir, 'etc/hosts'), `127.0.0.1 localhost\n${LAB_HOSTS.map((x) => `${hostAddress(x)} ${x.name}`).join('\n')}\n`);
  write(join(dir, 'etc/rc.d/init.d/httpd'), httpdInitScript(root), 0o755);
}

/** Writes every lab host's skeleton under `skel/<name>/` (copied into the guest's tmpfs at boot). */
export function writeSkeletons(skelDir: string): void {
  rmSync(skelDir, { recursive: true, force: true });
  for (const h of LAB_HOSTS) writeHostSkeleton(join(skelDir, h.name), h);
}
