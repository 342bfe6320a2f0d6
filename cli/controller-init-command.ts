import path from 'node:path';
import { EXIT } from '../common/errors.js';
import { writePrivateFileAtomic } from '../common/private-file.js';
import { DEFAULT_DATA } from './endpoint.js';
import { out } from './output.js';

export interface ControllerInitFlags {
  data?: string;
  san?: string[];
  adminTokenFile?: string;
}

/**
 * `ctl controller init`: the CA, the controller's certificate and the first admin API token,
 * shown once (or written to a new 0600 file, for scripts: never through a command line).
 */
export async function controllerInit(flags: ControllerInitFlags): Promise<number> {
  const dataDir = path.resolve(flags.data ?? DEFAULT_DATA);
  // The controller's PKI code, loaded only here (docs/ARCHITECTURE.md).
  const { initController } = await import('../controller/pki/init.js');
  const r = await initController(dataDir, flags.san ?? []);
  out(`controller data folder ${dataDir} initialised`);
  out(`CA certificate:      ${r.caCertFile}`);
  out(`CA fingerprint:      ${r.caFingerprint}`);
  out(`                     (agents pin it: --ca-fingerprint ${r.caFingerprint})`);
  out(`TLS certificate for: ${r.sans.join(', ')}`);
  if (flags.adminTokenFile) {
    await writePrivateFileAtomic(path.resolve(flags.adminTokenFile), r.adminToken + '\n');
    out(`admin API token '${r.adminTokenName}' written to ${path.resolve(flags.adminTokenFile)} (0600); only its hash is kept here`);
  } else {
    out(`admin API token '${r.adminTokenName}' (shown once; only its hash is kept):`);
    out(`  ${r.adminToken}`);
    out('keep it in a 0600 file for ctl --token-file FILE (or LVSCTL_TOKEN_FILE / LVSCTL_TOKEN)');
  }
  out(`next: ctl controller start --data ${dataDir}`);
  return EXIT.ok;
}
