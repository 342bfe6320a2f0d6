import { EventEmitter } from 'node:events';
import type { AgentSocket } from '../../agent/connection.js';

/** socket.io-client as the agent sees it: `emit` records what goes out, `receive` plays the controller. */
export class FakeAgentSocket extends EventEmitter implements AgentSocket {
  connected = false;
  active = true;
  readonly sent: { event: string; args: unknown[] }[] = [];

  override emit(event: string, ...args: unknown[]): boolean {
    this.sent.push({ event, args });
    return true;
  }

  receive(event: string, ...args: unknown[]): void {
    super.emit(event, ...args);
  }

  connect(): this {
    return this;
  }

  close(): this {
    this.connected = false;
    return this;
  }

  /** The handshake went through. */
  up(): void {
    this.connected = true;
    this.receive('connect');
  }

  events(name: string): unknown[][] {
    return this.sent.filter((s) => s.event === name).map((s) => s.args);
  }
}
