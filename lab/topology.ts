/**
 * The reference cluster inside the lab guest: one network namespace per host on one shared L2
 * segment (bridge `br0` in the guest's root namespace, no address of its own), plus a private
 * point-to-point management link per host that carries only a host route to the controller.
 */
export type LabGroup = 'directors' | 'realservers' | 'clients';

export interface LabHost {
  name: string;
  group: LabGroup;
  /** Addresses on the data interface `eth0`, first one is the host's address. */
  data: string[];
  /** Management link: root side 10.250.N.1/30, namespace side (`mgmt0`) 10.250.N.2/30. */
  mgmt: number;
}

export const LAB_HOSTS: readonly LabHost[] = [
  { name: 'server2', group: 'directors', data: ['172.25.7.2/24'], mgmt: 2 },
  { name: 'server3', group: 'realservers', data: ['172.25.7.3/24'], mgmt: 3 },
  { name: 'server4', group: 'realservers', data: ['172.25.7.4/24'], mgmt: 4 },
  { name: 'client', group: 'clients', data: ['172.25.7.10/24', '172.25.254.10/24'], mgmt: 10 },
];

export const LAB_HOST_NAMES: readonly string[] = LAB_HOSTS.map((h) => h.name);
/** The name `labExec` uses for the guest's root namespace. */
export const GUEST_ROOT = 'guest';

/** slirp: the guest is 10.0.2.15, the host (controller) answers at 10.0.2.2. */
export const SLIRP_IFACE = 'eth0';
export const SLIRP_GUEST = '10.0.2.15/24';
export const CONTROLLER_ADDR = '10.0.2.2';
export const MGMT_NET = '10.250.0.0/16';
export const DATA_BRIDGE = 'br0';
/** Where each host's writable root lives inside the guest (a tmpfs). */
export const GUEST_ROOTS = '/run/lab/roots';

export function mgmtAddrs(h: LabHost): { root: string; ns: string; gw: string } {
  return { root: `10.250.${h.mgmt}.1/30`, ns: `10.250.${h.mgmt}.2/30`, gw: `10.250.${h.mgmt}.1` };
}

export function hostRoot(name: string): string {
  return `${GUEST_ROOTS}/${name}`;
}

export function hostAddress(h: LabHost): string {
  return h.data[0]!.split('/')[0]!;
}

/**
 * Kernel modules the guest loads at boot. Everything else (schedulers, iptable_nat, ...) is left
 * for modprobe, by the kernel on demand or by the roles, as on a freshly installed host.
 */
export const GUEST_MODULES = [
  'virtio_net',
  'virtio_console',
  'veth',
  'bridge',
  'ip_vs',
  'ipip',
] as const;

/** One step of the topology build: one process in the guest. */
export type TopologyStep =
  /** `ip [-n NETNS] -batch -` with these lines (each an `ip` command without the `ip`). */
  | { kind: 'ip'; netns?: string; lines: string[][] }
  | { kind: 'cmd'; argv: string[] }
  /** `iptables-restore --noflush` input. */
  | { kind: 'iptables'; rules: string };

/**
 * The steps (run in order by the guest's init) that build the topology, batched because every
 * process start costs a lot under emulation. Namespaces are created while the root namespace
 * still has ip_forward=0: a new namespace copies the root's IPv4 settings, and a freshly
 * installed host forwards nothing. Forwarding is switched on in the root namespace last.
 */
export function topologySteps(controllerPort: number): TopologyStep[] {
  const steps: TopologyStep[] = [];
  for (const h of LAB_HOSTS) steps.push({ kind: 'cmd', argv: ['ip', 'netns', 'add', h.name] });
  const root: string[][] = [
    ['addr', 'add', SLIRP_GUEST, 'dev', SLIRP_IFACE],
    ['link', 'set', SLIRP_IFACE, 'up'],
    ['link', 'add', DATA_BRIDGE, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0'],
    ['link', 'set', DATA_BRIDGE, 'up'],
  ];
  for (const h of LAB_HOSTS) {
    const n = h.name;
    root.push(['link', 'add', `d-${n}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n]);
    root.push(['link', 'set', `d-${n}`, 'master', DATA_BRIDGE, 'up']);
    root.push(['link', 'add', `m-${n}`, 'type', 'veth', 'peer', 'name', 'mgmt0', 'netns', n]);
    root.push(['addr', 'add', mgmtAddrs(h).root, 'dev', `m-${n}`]);
    root.push(['link', 'set', `m-${n}`, 'up']);
  }
  steps.push({ kind: 'ip', lines: root });
  for (const h of LAB_HOSTS) {
    const m = mgmtAddrs(h);
    const lines: string[][] = [['link', 'set', 'lo', 'up']];
    for (const a of h.data) lines.push(['addr', 'add', a, 'dev', 'eth0']);
    lines.push(['link', 'set', 'eth0', 'up']);
    lines.push(['addr', 'add', m.ns, 'dev', 'mgmt0']);
    lines.push(['link', 'set', 'mgmt0', 'up']);
    lines.push(['route', 'add', `${CONTROLLER_ADDR}/32`, 'via', m.gw, 'dev', 'mgmt0']);
    steps.push({ kind: 'ip', netns: h.name, lines });
  }
  // Root namespace: forward management traffic to the controller only, masqueraded out of
  // slirp; the guest itself sends nothing out of slirp but to the host alias (and has no
  // default route either).
  steps.push({
    kind: 'iptables',
    rules: [
      '*filter',
      ':FORWARD DROP [0:0]',
      `-A FORWARD -i m-+ -o ${SLIRP_IFACE} -d ${CONTROLLER_ADDR}/32 -p tcp --dport ${controllerPort} -j ACCEPT`,
      `-A FORWARD -i ${SLIRP_IFACE} -o m-+ -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
      `-A OUTPUT -o ${SLIRP_IFACE} ! -d ${CONTROLLER_ADDR}/32 -j DROP`,
      'COMMIT',
      '*nat',
      `-A POSTROUTING -s ${MGMT_NET} -o ${SLIRP_IFACE} -j MASQUERADE`,
      'COMMIT',
      '',
    ].join('\n'),
  });
  steps.push({ kind: 'cmd', argv: ['sysctl', '-qw', 'net.ipv4.ip_forward=1'] });
  return steps;
}
