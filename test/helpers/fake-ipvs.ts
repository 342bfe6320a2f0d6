import type { Exec, ExecResult } from '../../common/exec.js';
import { parseSave } from '../../agent/ipvs/parse-save.js';
import { realServerKey, renderTable, serviceKey, type IpvsTable } from '../../agent/ipvs/table.js';

/**
 * An in-memory IPVS table behind a fake `ipvsadm` exec: `-Sn` prints it the way ipvsadm 1.31
 * does (ipip tunnels with `--tun-type ipip`, no thresholds), `-L -n --thresholds` lists
 * thresholds, `-R` runs each stdin line like restore_table (going on after a failed line and
 * exiting with the last line's status). Unit tests only; the lab runs the real kernel.
 */
export class FakeIpvs {
  table: IpvsTable;
  calls: { args: string[]; input?: string }[] = [];
  /** Lines (of -R) that fail as if the kernel refused them. */
  refuse = new Set<string>();
  constructor(sn = '') {
    this.table = parseSave(sn);
  }
  save(): string {
    const shown = this.table.services.map((s) => ({
      ...s,
      realServers: s.realServers.map(({ uThreshold: _u, lThreshold: _l, ...r }) => r),
    }));
    return renderTable(shown).replace(/^(-a .* -i -w \d+)$/gm, '$1 --tun-type ipip');
  }
  thresholds(): string {
    let out = 'IP Virtual Server version 1.2.1 (size=4096)\n';
    out += `${'Prot LocalAddress:Port'.padEnd(33)} Uthreshold Lthreshold ActiveConn InActConn \n  -> RemoteAddress:Port\n`;
    for (const s of this.table.services) {
      const name = s.protocol === 'fwmark' ? `FWM  ${s.fwmark}` : `${s.protocol.toUpperCase().padEnd(4)} ${serviceKey(s).replace(/^\w+:/, '')}`;
      out += `${name} ${s.scheduler}\n`;
      for (const r of s.realServers) {
        const cols = [r.uThreshold ?? 0, r.lThreshold ?? 0, 0, 0].map((n) => String(n).padEnd(10)).join(' ');
        out += `  -> ${realServerKey(r).padEnd(28)} ${cols}\n`;
      }
    }
    return out;
  }
  private svc(tokens: string[]): string {
    const n = tokens[0] === '-f' && tokens[2] === '-6' ? 3 : 2;
    return serviceKey(parseSave(`-A ${tokens.slice(0, n).join(' ')}`).services[0]);
  }
  private line(line: string): string | null {
    if (this.refuse.has(line)) return 'Invalid operation';
    const [cmd, ...rest] = line.split(' ');
    const key = this.svc(rest);
    const i = this.table.services.findIndex((s) => serviceKey(s) === key);
    const cur = this.table.services[i];
    if (cmd === '-A' || cmd === '-E') {
      const svc = parseSave(`-A ${rest.join(' ')}`).services[0];
      if (cmd === '-A' && cur) return 'Service already exists';
      if (cmd === '-E' && !cur) return 'No such service';
      if (cmd === '-A') this.table.services.push(svc);
      else this.table.services[i] = { ...svc, realServers: cur.realServers };
      return null;
    }
    if (cmd === '-D') {
      if (!cur) return 'No such service';
      this.table.services.splice(i, 1);
      return null;
    }
    if (!cur) return 'Service not defined';
    const rIdx = rest.indexOf('-r');
    const rs = parseSave(`-A ${rest.slice(0, rIdx).join(' ')} -s rr\n-a ${rest.join(' ')}`).services[0].realServers[0];
    const j = cur.realServers.findIndex((r) => realServerKey(r) === realServerKey(rs));
    if (cmd === '-a') {
      if (j >= 0) return 'Destination already exists';
      cur.realServers.push(rs);
    } else if (cmd === '-e') {
      if (j < 0) return 'No such destination';
      cur.realServers[j] = rs;
    } else if (cmd === '-d') {
      if (j < 0) return 'No such destination';
      cur.realServers.splice(j, 1);
    } else return `unknown command ${cmd}`;
    return null;
  }
  exec: Exec = async (file, args, opts) => {
    this.calls.push({ args: [...args], ...(opts?.input !== undefined ? { input: opts.input } : {}) });
    const ok = (stdout: string): ExecResult => ({ code: 0, stdout, stderr: '', ms: 0 });
    if (file !== 'ipvsadm') return { code: 127, stdout: '', stderr: `${file}: command not found`, ms: 0 };
    if (args.join(' ') === '-Sn') return ok(this.save());
    if (args.join(' ') === '-L -n --thresholds') return ok(this.thresholds());
    if (args.join(' ') === '-R') {
      let code = 0;
      let stderr = '';
      for (const l of (opts?.input ?? '').split('\n').filter(Boolean)) {
        const err = this.line(l);
        code = err ? 255 : 0;
        if (err) stderr += err + '\n';
      }
      return { code, stdout: '', stderr, ms: 0 };
    }
    return { code: 2, stdout: '', stderr: `unexpected ipvsadm ${args.join(' ')}`, ms: 0 };
  };
}
