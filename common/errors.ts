/**
 * The one list of coded errors. Exit codes follow ansible-playbook's: 1 error, 2 a host failed,
 * 3 a host unreachable, 4 bad inventory/role/playbook/arguments, 5 bad options, 250 internal.
 * Each code has one meaning forever; the exit code is what `ctl`
 * returns for it and the status what the HTTP API answers with.
 */
export const ERRORS = {
  CTL_ERR_USAGE: { exit: 5, status: 400, message: 'usage error' },
  CTL_ERR_INVENTORY_PARSE: { exit: 4, status: 400, message: 'inventory cannot be parsed' },
  CTL_ERR_INVENTORY_NOT_FOUND: { exit: 4, status: 400, message: 'inventory file not found' },
  CTL_ERR_PATTERN: { exit: 4, status: 400, message: 'host pattern matches no host' },
  CTL_ERR_PATTERN_SYNTAX: { exit: 4, status: 400, message: 'host pattern is malformed' },
  CTL_ERR_ROLE_NOT_FOUND: { exit: 4, status: 404, message: 'unknown role' },
  CTL_ERR_ROLE_PARSE: { exit: 4, status: 400, message: 'role file cannot be parsed' },
  CTL_ERR_PLAYBOOK_PARSE: { exit: 4, status: 400, message: 'playbook cannot be parsed' },
  CTL_ERR_TEMPLATE: { exit: 4, status: 400, message: 'template cannot be rendered' },
  CTL_ERR_TASK_ARGS: { exit: 4, status: 400, message: 'task arguments are invalid' },
  CTL_ERR_UNKNOWN_MODULE: { exit: 4, status: 400, message: 'unknown module' },
  CTL_ERR_CLUSTER_LINT: { exit: 4, status: 422, message: 'cluster check failed' },
  CTL_ERR_EXTRA_VAR: { exit: 5, status: 400, message: 'extra variable is malformed' },
  CTL_ERR_RUN_NOT_FOUND: { exit: 1, status: 404, message: 'run not found' },
  CTL_ERR_UNAUTHORIZED: { exit: 1, status: 401, message: 'token missing or wrong' },
  CTL_ERR_CONTROLLER_UNREACHABLE: { exit: 1, status: 503, message: 'controller is not reachable' },
  CTL_ERR_STORE: { exit: 1, status: 500, message: 'store cannot be read or written' },
  CTL_ERR_STORE_UNWRITABLE: { exit: 1, status: 503, message: 'store cannot be written now; new runs are refused' },
  CTL_ERR_AGENT_NOT_FOUND: { exit: 1, status: 404, message: 'agent not found' },
  CTL_ERR_AGENT_CONNECTED: { exit: 1, status: 409, message: 'agent is connected' },
  CTL_ERR_LAB: { exit: 1, status: 500, message: 'lab operation failed' },
  CTL_ERR_PATH_OUTSIDE_PROJECT: { exit: 4, status: 400, message: 'path is outside the project folder' },
  CTL_ERR_NOT_INITIALISED: { exit: 1, status: 500, message: 'controller is not initialised (ctl controller init)' },
  CTL_ERR_ALREADY_INITIALISED: { exit: 1, status: 409, message: 'controller data folder is already initialised' },
  CTL_ERR_CSR: { exit: 1, status: 400, message: 'certificate request is invalid' },
  CTL_ERR_ENROLLMENT_REFUSED: { exit: 1, status: 403, message: 'enrollment refused' },
  CTL_ERR_ENROLLMENT_NOT_FOUND: { exit: 1, status: 404, message: 'no enrollment request for that host' },
  CTL_ERR_CERT_NOT_FOUND: { exit: 1, status: 404, message: 'no certificate issued to that host' },
  CTL_ERR_TOKEN_NOT_FOUND: { exit: 1, status: 404, message: 'no token of that name' },
  CTL_ERR_DRIFT_POLICY: { exit: 4, status: 400, message: 'drift policy is invalid' },
  CTL_ERR_API_RESPONSE: { exit: 1, status: 502, message: 'controller answer does not match the API schema' },
  CTL_ERR_ROUTE_NOT_FOUND: { exit: 1, status: 404, message: 'no such API route' },
  CTL_ERR_CONTROLLER_CERT: { exit: 1, status: 502, message: 'controller certificate cannot be verified' },
  CTL_ERR_NO_TLS: { exit: 1, status: 409, message: 'controller runs without TLS (--insecure-http): no certificates' },
  CTL_ERR_CONTROLLER_LOST: { exit: 8, status: 503, message: 'the controller went away while the run was going' },
  CTL_ERR_HOSTS_BUSY: { exit: 9, status: 409, message: 'a host is busy with another run (--no-wait)' },
  CTL_ERR_WAIT_TIMEOUT: { exit: 9, status: 409, message: 'a host stayed busy with another run past --wait-timeout' },
  CTL_ERR_RUN_CANCELLED: { exit: 10, status: 409, message: 'the run was cancelled' },
  CTL_ERR_RUN_ENDED: { exit: 1, status: 409, message: 'the run has ended already' },
  /** `ctl drain --wait` returns EXIT.drainTimeout for it: the host stays drained, connections remain. */
  CTL_ERR_DRAIN_TIMEOUT: { exit: 1, status: 504, message: 'a drained host still had active connections at the timeout' },
  CTL_ERR_INTERNAL: { exit: 250, status: 500, message: 'internal error' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export interface ErrorWhere {
  file?: string;
  line?: number;
  field?: string;
}

/** A user-facing error: one line, with file, line and field where they are known. */
export class CtlError extends Error {
  readonly code: ErrorCode;
  readonly where: ErrorWhere;
  constructor(code: ErrorCode, detail: string, where: ErrorWhere = {}) {
    super(detail);
    this.name = 'CtlError';
    this.code = code;
    this.where = where;
  }
  get exitCode(): number {
    return ERRORS[this.code].exit;
  }
  get status(): number {
    return ERRORS[this.code].status;
  }
  /** `file:line: field: detail`, the shape compilers and linters use. */
  oneLine(): string {
    const loc = [this.where.file, this.where.line].filter((p) => p !== undefined).join(':');
    const field = this.where.field ? `${this.where.field}: ` : '';
    // One line whatever the input quoted in it held (a host name with a newline in it).
    return `${loc ? loc + ': ' : ''}${field}${this.message}`.replace(/\r\n|\r|\n/g, '\\n');
  }
  toJSON(): { code: ErrorCode; message: string; where: ErrorWhere; line: string } {
    return { code: this.code, message: this.message, where: this.where, line: this.oneLine() };
  }
}

export function isCtlError(e: unknown): e is CtlError {
  return e instanceof CtlError;
}

/**
 * Exit codes that are outcomes, not errors: a run's, as ansible-playbook uses them, then ours
 * (`ctl drift` found drift; `ctl lab status` found no lab running, as `systemctl status` would;
 * `ctl drain --wait` reached its timeout with connections still open, CTL_ERR_DRAIN_TIMEOUT).
 */
export const EXIT = { ok: 0, error: 1, hostFailed: 2, hostUnreachable: 3, drift: 6, labNotRunning: 7, drainTimeout: 11 } as const;
