import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { describeIssue } from '../../coordinator/config.js';
import { describeHostileStep, hostileStepSchemas } from './hostile-steps.js';

/**
 * Failover scenarios and profiles: small declarative YAML files validated here. Errors name the file,
 * the key and what was expected, like mccd's own config.
 */
const pnn = z.number({ invalid_type_error: 'expected a node number' }).int().min(0).max(63);
/** A node by number, the ctdb leader, or the lowest-numbered node that is not the leader. */
const nodeRef = z.union([pnn, z.enum(['leader', 'non-leader'])], {
  errorMap: () => ({ message: 'expected a node number, "leader" or "non-leader"' }),
});
const ms = (max: number) => z.number({ invalid_type_error: 'expected milliseconds' }).int().min(0).max(max);

const budget = z
  .object({
    ms: ms(600_000),
    reason: z.string().min(10, 'expected a reason for the budget (at least 10 characters)').max(400),
  })
  .strict();

export const stepSchema = z.discriminatedUnion(
  'action',
  [
    z
      .object({
        action: z.literal('moveip'),
        /** Index into the cluster's public IPs, or the address itself. */
        ip: z.union([z.number().int().min(0).max(255), z.string().ip()]).default(0),
        /** Instead of `ip`: the first public IP (in address order) this node holds when the step runs. */
        heldBy: nodeRef.optional(),
        /** Target node, or "next": the owner's next node. */
        to: z.union([pnn, z.literal('next')]).default('next'),
      })
      .strict(),
    z
      .object({
        action: z.literal('moveip-burst'),
        count: z.number().int().min(1).max(50),
        intervalMs: ms(10_000).default(0),
      })
      .strict(),
    z.object({ action: z.literal('disable'), node: nodeRef }).strict(),
    z.object({ action: z.literal('enable'), node: nodeRef }).strict(),
    z.object({ action: z.literal('stop'), node: nodeRef }).strict(),
    z.object({ action: z.literal('continue'), node: nodeRef }).strict(),
    z
      .object({
        action: z.literal('kill-ctdbd'),
        node: nodeRef,
        /** As systemd's Restart= would; the node rejoins after this long. */
        restartAfterMs: ms(120_000).default(2000),
      })
      .strict(),
    z
      .object({ action: z.literal('kill-mccd'), node: nodeRef, restartAfterMs: ms(120_000).default(1000) })
      .strict(),
    z
      .object({
        action: z.literal('restart-mccd'),
        node: nodeRef,
        /** SIGKILL: a crash, restarted after `downMs`; SIGTERM: `systemctl restart`, restarted at once. */
        signal: z.enum(['SIGKILL', 'SIGTERM']),
        downMs: ms(120_000).default(1000),
        /** A new client connects while mccd is down: it must wait and be served (not refused). */
        probe: z.boolean().default(true),
      })
      .strict(),
    z
      .object({
        action: z.literal('kill-backend'),
        node: nodeRef,
        /** The reference worker is restarted after this long; killed smbd processes are not restarted. */
        restartAfterMs: ms(120_000).default(1000),
      })
      .strict(),
    z.object({ action: z.literal('rolling-restart') }).strict(),
    z
      .object({
        action: z.literal('restart-ctdbd'),
        node: nodeRef,
        /** SIGTERM (as `systemctl restart ctdb`), then started again after this long. */
        restartAfterMs: ms(120_000).default(1000),
      })
      .strict(),
    z
      .object({
        action: z.literal('connect-check'),
        node: nodeRef,
        /** Fresh smbclient connections to the node's fixed address, one after another; each must list the share. */
        count: z.number().int().min(1).max(100).default(8),
      })
      .strict(),
    z
      .object({ action: z.literal('partition'), node: nodeRef, durationMs: ms(300_000).default(15_000) })
      .strict(),
    z.object({ action: z.literal('share-mode'), holder: nodeRef, other: nodeRef }).strict(),
    z
      .object({
        action: z.literal('notify'),
        watcher: nodeRef,
        changer: nodeRef,
        /** After the watcher's node lists the watch: other nodes learn of it from notifyd's ~1 s broadcast. */
        delayMs: ms(60_000).default(3000),
      })
      .strict(),
    z.object({ action: z.literal('kill-smbd-holding-file'), holder: nodeRef, other: nodeRef }).strict(),
    z
      .object({
        action: z.literal('durable-moveip'),
        /** Index into the cluster's public IPs: the IP the durable handle is opened through and moved. */
        ip: z.number().int().min(0).max(255).default(0),
        /** The open holds an RWH lease instead of a batch oplock. */
        lease: z.boolean().default(false),
      })
      .strict(),
    z.object({ action: z.literal('wait'), ms: ms(600_000) }).strict(),
    // idle-flood, spoof-guid, starved-burst (hostile-actions.ts)
    ...hostileStepSchemas,
  ],
  {
    errorMap: (issue, ctx) =>
      issue.code === 'invalid_union_discriminator'
        ? {
            message:
              'expected action moveip, moveip-burst, disable, enable, stop, continue, kill-ctdbd, kill-mccd, restart-mccd, kill-backend, rolling-restart, restart-ctdbd, connect-check, partition, share-mode, notify, kill-smbd-holding-file, durable-moveip, idle-flood, spoof-guid, starved-burst or wait',
          }
        : { message: ctx.defaultError },
  },
);

export const scenarioSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected a lower-case name (a-z, 0-9, -)'),
    description: z.string().min(1).max(500),
    steps: z.array(stepSchema).min(1, 'expected at least one step').max(100),
    /** How long clients may take to be back, all channels on one node, after the last step. */
    settleTimeoutMs: ms(600_000).default(60_000),
    /**
     * Limits judged as violations: fault → a concerned client's last channel closed, and its first close →
     * all channels negotiated again. Each with the reason for its size, so a number is never arbitrary.
     */
    budgets: z.object({ teardown: budget, reconnect: budget }).strict(),
  })
  .strict();

export const profileSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected a lower-case name (a-z, 0-9, -)'),
    description: z.string().min(1).max(500),
    nodes: z.number().int().min(2).max(8).default(3),
    backend: z.enum(['smbd', 'worker']).default('smbd'),
    /** Nodes as containers (clustered smbd, the production replica) or network namespaces. */
    cluster: z.enum(['containers', 'netns']).default('containers'),
    /**
     * smbd pool members per node (0: one smbd spawned per connection), or one number per node in node
     * order (the last one for nodes beyond the list), so one cluster can mix pool and spawn mode.
     */
    smbdPool: z
      .union([
        z.number().int().min(0).max(64),
        z.array(z.number().int().min(0).max(64)).min(1, 'expected at least one pool size').max(8),
      ])
      .default(4),
    /** Simulated multi-channel clients, spread over the public IPs. */
    clients: z.number().int().min(1).max(500).default(12),
    /** Real smbclient sessions alongside them, one per public IP up to this many. */
    smbclientSessions: z.number().int().min(0).max(32).default(3),
    scenarios: z.array(z.string().min(1)).min(1, 'expected at least one scenario'),
  })
  .strict();

export type Step = z.infer<typeof stepSchema>;

/** The smbd pool size of node `pnn` under `profile` (0: spawn mode). */
export function poolOf(profile: Pick<Profile, 'smbdPool'>, pnn: number): number {
  const pool = profile.smbdPool;
  return typeof pool === 'number' ? pool : (pool[pnn] ?? pool[pool.length - 1]!);
}

/** How smbd is started on each node, for progress lines and the report. */
export function describePools(profile: Pick<Profile, 'smbdPool' | 'nodes'>): string {
  const describe = (size: number) => (size === 0 ? 'spawned per connection' : `pool of ${size}`);
  const sizes = Array.from({ length: profile.nodes }, (_, pnn) => poolOf(profile, pnn));
  if (sizes.every((s) => s === sizes[0])) return `smbd ${describe(sizes[0]!)}`;
  return `smbd ${sizes.map((s, pnn) => `${describe(s)} on node ${pnn}`).join(', ')}`;
}
export type Scenario = z.infer<typeof scenarioSchema>;
export type Profile = z.infer<typeof profileSchema>;

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

export type ParsedFile<T> = { ok: true; value: T } | { ok: false; error: ScenarioError };

function parseWith<T>(
  schema: z.ZodType<T, z.ZodTypeDef, unknown>,
  text: string,
  source: string,
): ParsedFile<T> {
  let input: unknown;
  try {
    input = parseYaml(text, { logLevel: 'error' });
  } catch (error) {
    return {
      ok: false,
      error: new ScenarioError(`${source}: not YAML: ${(error as Error).message.split('\n')[0]}`),
    };
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    return {
      ok: false,
      error: new ScenarioError(
        `${source}: ${parsed.error.issues.map((i) => describeIssue(i, input)).join('; ')}`,
      ),
    };
  }
  return { ok: true, value: parsed.data };
}

export function parseScenario(text: string, source = 'scenario'): ParsedFile<Scenario> {
  return parseWith(scenarioSchema, text, source);
}

export function parseProfile(text: string, source = 'profile'): ParsedFile<Profile> {
  return parseWith(profileSchema, text, source);
}

function loadFile<T>(path: string, parser: (text: string, source: string) => ParsedFile<T>): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ScenarioError(`${path}: cannot read: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  const parsed = parser(text, basename(path));
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}

export function loadScenario(path: string): Scenario {
  return loadFile(path, parseScenario);
}

export function loadProfile(path: string): Profile {
  return loadFile(path, parseProfile);
}

/** One line per step, for progress output and the report. */
export function describeStep(step: Step): string {
  switch (step.action) {
    case 'moveip':
      return `ctdb moveip ${step.heldBy === undefined ? step.ip : `an IP of node ${step.heldBy}`} to ${step.to}`;
    case 'restart-mccd':
      return `${step.signal === 'SIGKILL' ? `kill -9 of mccd, back after ${step.downMs} ms` : 'SIGTERM restart of mccd'} on node ${step.node}${step.probe ? ', a client connecting meanwhile' : ''}`;
    case 'moveip-burst':
      return `${step.count} moveips${step.intervalMs ? ` ${step.intervalMs} ms apart` : ' back to back'}`;
    case 'kill-ctdbd':
    case 'kill-mccd':
    case 'kill-backend':
      return `${step.action.replace('kill-', 'kill -9 ')} on node ${step.node}, back after ${step.restartAfterMs} ms`;
    case 'rolling-restart':
      return 'rolling restart of every node (ctdbd, then mccd)';
    case 'restart-ctdbd':
      return `ctdbd restart (SIGTERM, start after ${step.restartAfterMs} ms) on node ${step.node}`;
    case 'connect-check':
      return `${step.count} fresh smbclient connections to node ${step.node}, each must be served`;
    case 'partition':
      return `partition node ${step.node} (link down) for ${step.durationMs} ms`;
    case 'share-mode':
      return `open through node ${step.holder}; a delete through node ${step.other} refused, then allowed once closed`;
    case 'notify':
      return `change notify: watcher through node ${step.watcher}, file created through node ${step.changer}`;
    case 'kill-smbd-holding-file':
      return `kill -9 of the smbd holding a file open through node ${step.holder}; node ${step.other} deletes it at once`;
    case 'durable-moveip':
      return `a durable handle (${step.lease ? 'RWH lease' : 'batch oplock'}) opened through public IP ${step.ip}, the IP moved, the handle reconnected through it`;
    case 'wait':
      return `wait ${step.ms} ms`;
    case 'idle-flood':
    case 'spoof-guid':
    case 'starved-burst':
      return describeHostileStep(step);
    default:
      return `ctdb ${step.action} node ${step.node}`;
  }
}
