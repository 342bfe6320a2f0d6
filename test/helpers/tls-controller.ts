import path from 'node:path';
import { saveIdentity, loadIdentity } from '../../agent/identity.js';
import { buildController, type Controller, type ControllerOptions } from '../../controller/app.js';
import { initController } from '../../controller/pki/init.js';
import { agentRequest } from './pki.js';

export interface TlsController {
  ctl: Controller;
  url: string;
  ca: string;
  /** The admin API token `init` made. */
  adminToken: string;
  auth: { authorization: string };
  /** A client certificate for `host`, issued by this controller's CA (as enrollment would). */
  identity(host: string): Promise<{ ca: string; cert: string; key: string }>;
}

/**
 * A controller as `ctl controller init` + `controller start` make it, in this process: TLS on a
 * loopback port, agents known by certificate, the API by a named token.
 */
export async function startTlsController(dataDir: string, opts: Omit<ControllerOptions, 'dataDir' | 'token'>): Promise<TlsController> {
  const init = await initController(dataDir, ['127.0.0.1']);
  const ctl = await buildController({ ...opts, dataDir });
  await ctl.app.listen({ port: 0, host: '127.0.0.1' });
  const url = `https://127.0.0.1:${(ctl.app.server.address() as { port: number }).port}`;
  const pki = ctl.trust!.pki;
  return {
    ctl,
    url,
    ca: pki.caPem,
    adminToken: init.adminToken,
    auth: { authorization: `Bearer ${init.adminToken}` },
    async identity(host) {
      const req = await agentRequest(path.join(dataDir, '..'), host, `${host}-${Math.random().toString(36).slice(2)}`);
      const issued = await pki.signAgentCsr(req.csr, host);
      await saveIdentity(req.stateDir, issued.certPem, pki.caPem);
      const id = loadIdentity(req.stateDir)!;
      return { ca: id.caPem, cert: id.certPem, key: id.keyPem };
    },
  };
}
