import { createLogger, type Logger } from '../../common/log.js';

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** A real pino logger (the project's redaction and serializers) whose lines the test reads. */
export function captureLog(level: 'debug' | 'info' = 'debug'): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = createLogger({ level, stream: { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) } });
  return { log, lines };
}
