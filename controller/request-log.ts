import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/**
 * Request lines at debug: agents and the health page poll the API, and one info line per poll
 * would bury the lines an operator looks for (connections, refusals, runs). Failed requests
 * stay at error.
 */
export class DebugRequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ req: request, res: reply, err: error, ms: reply.elapsedTime }, 'request failed');
    else reply.log.debug({ req: request, res: reply, ms: reply.elapsedTime }, 'request');
  }

  override routeNotFound(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'route not found');
  }
}
