import { pino, type DestinationStream, type LevelWithSilent, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { CtlError } from './errors.js';

export type { Logger } from 'pino';

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** `--log-level` checked once at the edge; a typo must not silently mean `info`. */
export function parseLogLevel(given: string | undefined, flag = '--log-level'): LevelWithSilent {
  const level = (given ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new CtlError('CTL_ERR_USAGE', `'${given}' is not a log level (${LOG_LEVELS.join(', ')})`, { field: flag });
  }
  return level as LevelWithSilent;
}

/**
 * No route takes a token in its query string any more; one typed there by habit must still
 * stay out of request logs.
 */
export function redactUrl(url: string | undefined): string | undefined {
  return url?.replace(/([?&]token=)[^&#]*/gi, '$1[redacted]');
}

interface ReqLike {
  method?: string;
  url?: string;
  ip?: string;
  headers?: Record<string, unknown>;
}

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** `agent` or `controller`: which process wrote the line when logs are collected together. */
  name?: string;
  /** Default: stdout, human-readable when it is a terminal, JSON lines otherwise. */
  stream?: DestinationStream;
  pretty?: boolean;
}

/**
 * The one way a process makes its logger. Tokens never reach a log line: they are redacted by
 * path (an Authorization header, a socket.io handshake's `auth.token`) wherever they are logged.
 */
export function createLogger(o: LoggerOptions = {}): Logger {
  const usePretty = o.pretty ?? (!o.stream && process.stdout.isTTY === true);
  const stream = o.stream ?? (usePretty ? pretty({ colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true }) : undefined);
  return pino(
    {
      level: o.level ?? 'info',
      ...(o.name ? { name: o.name } : {}),
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', 'auth.token', 'handshake.auth.token', 'token'],
        censor: '[redacted]',
      },
      serializers: {
        // Fastify's own req serializer would log the raw URL, query string and all.
        req: (req: ReqLike) => ({ method: req.method, url: redactUrl(req.url), remoteAddress: req.ip }),
        err: pino.stdSerializers.err,
      },
    },
    stream ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** For library defaults and tests that do not look at logs. */
export const silentLogger: Logger = pino({ level: 'silent' });
