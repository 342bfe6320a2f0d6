import { placedAddresses, type AddressArgs } from '../../agent/modules/address.js';
import { placedGateway, type GatewayArgs } from '../../agent/modules/gateway.js';
import { declaredServices, type IpvsArgs } from '../../agent/modules/ipvs.js';
import { inSubnet, netmaskToPrefix } from '../../common/ipv4.js';
import type { PlannedTask } from '../roles.js';
import type { ClusterView, Rule } from './driver.js';

/**
 * The LVS cluster rules: what the plan would push, read across hosts, for clusters that cannot
 * work. Arguments come parsed by each module's own schema and are read through the helpers the
 * modules export, so a default changes in one place only; roles are known by their
 * `meta.yml: cluster`, never by their names.
 */

type Forwarding = 'nat' | 'tun' | 'dr';

interface Service {
  director: string;
  /** The director role whose task declares it. */
  role?: string;
  key: string;
  vip: string;
  realServers: { address: string; forwarding: Forwarding }[];
}

/** Rendering parsed these arguments with this very module's schema (roles.ts, renderRole). */
const parsedAs = <A>(t: PlannedTask) => t.parsed as A;

function services(view: ClusterView): Service[] {
  return view.hosts.flatMap((director) =>
    view.tasks(director, 'ipvs').flatMap((t) =>
      declaredServices(parsedAs<IpvsArgs>(t))
        .filter((s) => s.address !== undefined)
        .map((s) => ({ director, ...(t.task.role ? { role: t.task.role } : {}), key: s.key, vip: s.address!, realServers: s.realServers })),
    ),
  );
}

const realServersText = (s: Service) => JSON.stringify(s.realServers.map((r) => `${r.address}/${r.forwarding}`).sort());

const vips: Rule = {
  name: 'VIP check',
  check({ view, issue }) {
    const byKey = new Map<string, Service>();
    for (const s of services(view)) {
      const other = byKey.get(s.key);
      if (other && realServersText(other) !== realServersText(s)) {
        issue(s.director, 'lvs_vip', `VIP ${s.key} is used by two services (also on ${other.director}, with other real servers)`);
      }
      byKey.set(s.key, s);
      const owner = view.hostAt(s.vip);
      if (owner) issue(s.director, 'lvs_vip', `VIP ${s.vip} is the address of host ${owner}`);
    }
  },
};

/** A real server must be a host of the inventory, of the director's mode, and set up for it. */
const realServers: Rule = {
  name: 'real server check',
  check({ view, issue }) {
    for (const s of services(view)) {
      const directorAddr = view.addressOf(s.director)!;
      for (const r of s.realServers) {
        const rsHost = view.hostAt(r.address);
        if (!rsHost) {
          issue(s.director, 'lvs_realservers_group', `real server ${r.address} of ${s.key} is not a host of the inventory`);
          continue;
        }
        if (!view.hosts.includes(rsHost)) continue;
        const roles = view.clusterRoles(rsHost).filter((x) => x.cluster.part === 'realserver');
        if (roles.length && !roles.some((x) => x.cluster.mode === r.forwarding)) {
          issue(rsHost, 'lvs_mode', `real server runs ${roles[0].role} but ${s.director} forwards to it with ${r.forwarding}`);
          continue;
        }
        if (r.forwarding === 'nat') {
          const gws = view.tasks(rsHost, 'gateway').flatMap((t) => placedGateway(parsedAs<GatewayArgs>(t)) ?? []);
          if (!gws.some((g) => g.address === directorAddr)) {
            issue(rsHost, 'lvs_director_address', `NAT real server's gateway is ${gws[0]?.address ?? 'not set'}, not the director ${s.director} (${directorAddr})`);
          }
        } else {
          const dev = r.forwarding === 'tun' ? 'tunl0' : 'lo';
          const held = view.tasks(rsHost, 'address').flatMap((t) => placedAddresses(parsedAs<AddressArgs>(t)));
          if (!held.some((a) => a.address === s.vip && a.device === dev)) {
            issue(rsHost, 'lvs_vip', `${r.forwarding.toUpperCase()} real server does not hold the VIP ${s.vip} on ${dev}`);
          }
        }
      }
    }
  },
};

/** A director role that says it forwards one way (`meta.yml: cluster.mode`) must declare that. */
const directorMode: Rule = {
  name: 'director mode check',
  check({ view, issue }) {
    const said = new Map(view.hosts.flatMap((h) => view.clusterRoles(h).filter((x) => x.cluster.part === 'director' && x.cluster.mode).map((x) => [`${h}/${x.role}`, x.cluster.mode!])));
    const reported = new Set<string>();
    for (const s of services(view)) {
      const mode = said.get(`${s.director}/${s.role}`);
      for (const r of s.realServers) {
        const key = `${s.director}/${s.role}/${r.forwarding}`;
        if (!mode || r.forwarding === mode || reported.has(key)) continue;
        reported.add(key);
        issue(s.director, 'lvs_forwarding', `${s.role} is a ${mode} director (meta.yml) but forwards ${s.key} to ${r.address} with ${r.forwarding}`);
      }
    }
  },
};

function prefixOf(netmask: string): number | undefined {
  if (/^\d+$/.test(netmask)) return Number(netmask);
  return /^\d+\.\d+\.\d+\.\d+$/.test(netmask) ? netmaskToPrefix(netmask) : undefined;
}

/** DR rewrites only the MAC: the real servers must be on the director's own segment. */
const segment: Rule = {
  name: 'L2 segment check',
  needsFacts: true,
  check({ view, issue, facts, skip }) {
    for (const s of services(view)) {
      const drs = s.realServers.filter((r) => r.forwarding === 'dr');
      if (!drs.length) continue;
      const directorAddr = view.addressOf(s.director)!;
      const f = facts(s.director);
      if (!f) continue;
      const nic = f.interfaces.find((i) => i.ip4 === directorAddr);
      const bits = nic?.ip4subnet ? prefixOf(nic.ip4subnet) : undefined;
      if (bits === undefined) {
        skip(s.director, `its facts show no interface with ${directorAddr} and a netmask`);
        continue;
      }
      for (const r of drs) {
        const rsHost = view.hostAt(r.address);
        if (rsHost && !inSubnet(directorAddr, bits, r.address)) {
          issue(rsHost, 'ansible_host', `DR real server ${r.address} is not on the director's segment ${directorAddr}/${bits}`);
        }
      }
    }
  },
};

export const LVS_RULES: readonly Rule[] = [vips, realServers, directorMode, segment];
