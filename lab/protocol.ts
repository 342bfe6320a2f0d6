/** The command channel between the host (`labExec`) and the guest service: JSON lines. */
export const EXEC_PORT_NAME = 'lvsctl.exec';

export interface ExecRequest {
  id: string;
  /** A lab host (network namespace) or `guest` for the guest's root namespace. */
  host: string;
  argv: string[];
  input?: string;
  timeoutMs?: number;
}

export interface ExecReply {
  id: string;
  code: number;
  stdout: string;
  stderr: string;
}
