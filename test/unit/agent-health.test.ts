import test from 'ava';
import { z } from 'zod';
import { Agent, type AgentExtension, type AgentHost } from '../../agent/agent.js';
import { defineModule, type ModuleContext } from '../../agent/module.js';
import type { RunJob } from '../../common/protocol.js';
import { facts } from '../helpers/fake-ctx.js';
import { FakeAgentSocket } from '../helpers/fake-agent-socket.js';
import { FakeTimers, settle } from '../helpers/fake-timers.js';
import { captureLog } from '../helpers/log-capture.js';

/** The agent's hooks for its health checker: queue access between runs, the socket, the module context. */

class Extension implements AgentExtension {
  host: AgentHost | undefined;
  connects = 0;
  readonly marker = { preview: () => ({ services: [], notes: [] }), holds: () => true, configure: () => {} };
  attach(host: AgentHost): void {
    this.host = host;
  }
  connected(): void {
    this.connects++;
  }
  context(): Partial<ModuleContext> {
    return { health: this.marker };
  }
}

function setup() {
  const trace: string[] = [];
  const gates = new Map<string, () => void>();
  const socket = new FakeAgentSocket();
  const ext = new Extension();
  const seen: (ModuleContext['health'] | undefined)[] = [];
  const gate = defineModule({
    name: 'gate',
    summary: 'waits for the test',
    schema: z.object({ id: z.string() }),
    touches: [],
    async read(args, ctx) {
      trace.push(`read ${args.id}`);
      seen.push(ctx.health);
      await new Promise<void>((r) => gates.set(args.id, r));
      return null;
    },
    plan: () => ({ changes: [], before: '', after: '' }),
    async apply() {},
  });
  const agent = new Agent({
    name: 'server2',
    root: '/',
    connect: () => socket,
    exec: async () => ({ code: 0, stdout: '', stderr: '', ms: 0 }),
    log: captureLog().log,
    timers: new FakeTimers(),
    gatherFacts: async (name) => facts({ hostname: name }),
    health: (busy) => ({ uptime: 1, load1: 0, memFree: 1, memTotal: 2, busy }),
    modules: new Map([['gate', gate]]),
    healthChecks: ext,
  });
  return { agent, socket, ext, trace, gates, seen };
}

const job = (runId: string, id: string): RunJob => ({ runId, host: 'server2', tasks: [{ name: id, module: 'gate', args: { id } }], check: false, diff: false });

test('the health checker gets the socket at start, a call at every connect, and its field in every job\'s context', async (t) => {
  const { agent, socket, ext, gates, seen } = setup();
  agent.start();
  t.is(ext.host?.socket, socket);
  socket.up();
  socket.up();
  t.is(ext.connects, 2);
  socket.receive('run:start', job('r1', 'a'));
  for (let i = 0; i < 20 && !gates.has('a'); i++) await settle();
  gates.get('a')!();
  await agent.idle();
  t.is(seen[0], ext.marker);
});

test('exclusive work waits for the run in progress, and a run sent meanwhile waits for it: one writer at a time', async (t) => {
  const { agent, socket, ext, trace, gates } = setup();
  agent.start();
  socket.up();
  socket.receive('run:start', job('r1', 'a'));
  for (let i = 0; i < 20 && !gates.has('a'); i++) await settle();
  let ctx: ModuleContext | undefined;
  const done = ext.host!.exclusive('health', async (c) => {
    trace.push('health apply');
    ctx = c;
    return 42;
  });
  socket.receive('run:start', job('r2', 'b'));
  await settle();
  t.deepEqual(trace, ['read a'], 'the health apply waits for the run');
  gates.get('a')!();
  t.is(await done, 42);
  for (let i = 0; i < 20 && !gates.has('b'); i++) await settle();
  t.deepEqual(trace, ['read a', 'health apply', 'read b']);
  t.like(ctx, { check: false, root: '/', health: ext.marker });
  t.is(ctx?.facts.hostname, 'server2');
  gates.get('b')!();
  await agent.idle();

  const failed = ext.host!.exclusive('health', async () => {
    throw new Error('ipvsadm -R: exit 1');
  });
  await t.throwsAsync(failed, { message: 'ipvsadm -R: exit 1' }, 'its error goes back to the caller, not into the queue');
  socket.receive('run:start', job('r3', 'c'));
  for (let i = 0; i < 20 && !gates.has('c'); i++) await settle();
  t.true(gates.has('c'), 'the queue goes on');
  gates.get('c')!();
  await agent.idle();
});
