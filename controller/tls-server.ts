import type { Server as HttpServer } from 'node:http';
import https from 'node:https';
import type { FastifyServerFactory } from 'fastify';
import type { Logger } from '../common/log.js';
import type { Pki } from './pki/pki.js';

/**
 * The one TLS server of a controller: the API (fastify) and the agent socket (socket.io,
 * attached to the same server) on one port, with the controller's certificate. Client
 * certificates are asked for but not required at the handshake, since ctl and browsers present
 * none; the agent socket's middleware decides on them (`Pki.checkPeer`).
 */
export function tlsServerFactory(pki: Pki, log: Logger): FastifyServerFactory {
  const options = pki.serverTlsOptions();
  return (handler) => {
    const server = https.createServer(options, handler);
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket) => {
      // A client that does not trust our certificate, or speaks plain HTTP to the TLS port.
      log.info({ peer: socket.remoteAddress?.replace(/^::ffff:/, ''), reason: err.code ?? err.message }, 'TLS handshake failed');
    });
    // fastify's types expect the http server it would have made; https.Server serves the same API.
    return server as unknown as HttpServer;
  };
}
