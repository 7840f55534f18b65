import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { discoveryConfigSchema } from '../ifdiscovery/config.js';
import { absolutePath, ipAddress, loopbackAddress, MAX_CONFIG_BYTES, tokenFile } from './config-fields.js';

/**
 * mccd's configuration: a JSON or YAML file validated here. Every error names the key and what was
 * expected, e.g. `listen.0.port: expected an integer in 1..65535, got "x"`.
 */
const port = z.number({ invalid_type_error: 'expected an integer port' }).int().min(1).max(65535);

const listenSchema = z
  .object({
    address: ipAddress,
    /** 0 picks a free port (tests, harnesses). */
    port: z.number({ invalid_type_error: 'expected an integer port' }).int().min(0).max(65535),
  })
  .strict();

export const configSchema = z
  .object({
    cluster: z
      .object({
        /** auto: ctdbd when its socket answers, else single-node (logged plainly). */
        backend: z.enum(['auto', 'ctdbd', 'redis', 'single-node']).default('auto'),
        ctdbdSocket: absolutePath.default('/run/ctdb/ctdbd.socket'),
        redisUrl: z.string().url('expected a redis:// URL').optional(),
        /** Node number used in single-node and redis modes. */
        pnn: z.number().int().min(0).max(0xfffffffe).default(0),
      })
      .strict()
      // Without it mccd would quietly run as a single node, which is not what the operator asked for.
      .refine((c) => c.backend !== 'redis' || c.redisUrl !== undefined, {
        message: 'expected a redis:// URL: cluster.backend redis needs one',
        path: ['redisUrl'],
      })
      .default({}),
    listen: z
      .array(listenSchema)
      .min(1, 'expected at least one listen address')
      .default([{ address: '127.0.0.1', port: 4450 }]),
    api: z
      .object({
        socket: absolutePath.default(defaultApiSocket()),
        tcp: z
          .object({ address: loopbackAddress.default('127.0.0.1'), port, tokenFile })
          .strict()
          .optional(),
        /** Open connections per listener (unix socket, TCP): each holds an fd whoever opened it. */
        maxConnections: z.number().int().min(1).max(4096).default(64),
        /** A request whose headers (whole request) have not arrived by then is closed (HTTP 408). */
        headersTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
        requestTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
      })
      .strict()
      .default({}),
    backend: z
      .discriminatedUnion('kind', [
        z
          .object({
            kind: z.literal('worker'),
            /** Unix SOCK_SEQPACKET socket workers connect to (mode 0600). */
            socket: absolutePath.default(defaultRunPath('workers.sock')),
            teardownAckMs: z.number().int().min(10).max(60_000).default(2000),
          })
          .strict(),
        z
          .object({
            kind: z.literal('smbd'),
            smbdPath: absolutePath.default('/usr/sbin/smbd'),
            /** smb.conf for the inetd-mode smbd processes. */
            config: absolutePath,
            logDir: absolutePath.default('/var/log/mcc'),
            extraArgs: z.array(z.string()).default([]),
            /** smbd processes started ahead of time, waiting for a client (0: exec one per connection). */
            pool: z
              .object({
                size: z.number().int().min(0).max(1024).default(0),
                startupTimeoutMs: z.number().int().min(100).max(120_000).default(15_000),
              })
              .strict()
              .default({}),
          })
          .strict(),
      ])
      .default({ kind: 'worker' }),
    negotiate: z
      .object({
        timeoutMs: z.number().int().min(100).max(120_000).default(5000),
        maxBytes: z
          .number()
          .int()
          .min(256)
          .max(1 << 20)
          .default(65536),
        /**
         * Connections still waiting for their NEGOTIATE (one fd each), overall and from one source
         * address; at a bound the oldest is closed. Lowered at start-up to fit the open-file limit
         * (see coordinator/pending-peeks.ts): the systemd unit's LimitNOFILE=20000 leaves room for 15,000.
         */
        maxPending: z.number().int().min(16).max(1_000_000).default(10_000),
        maxPendingPerAddress: z.number().int().min(1).max(1_000_000).default(1000),
        /**
         * TCP_DEFER_ACCEPT on the SMB listeners (timeoutMs, in whole seconds): the kernel queues a
         * connection for accept only once its first bytes arrive. SMB clients speak first, so real clients
         * are accepted as before, and connections that never send a byte cost mccd nothing until then.
         */
        deferAccept: z.boolean().default(true),
        /**
         * Listening sockets per listen address (SO_REUSEPORT), each with its own accept and SYN queue of
         * net.core.somaxconn: a flood's burst that fills one queue (and drops real clients' connections
         * for 200 ms or more) spreads over all of them. An inherited socket (mccd.socket) is one queue.
         */
        acceptQueues: z.number().int().min(1).max(64).default(4),
      })
      .strict()
      .default({}),
    limits: z
      .object({
        /** ClientGUIDs this node holds at once (~12 KB each); a new one beyond it is refused. */
        maxClients: z.number().int().min(1).max(1_000_000).default(20_000),
        /**
         * One client's channels from one source address. smbd takes any number of connections per
         * ClientGUID (it binds at most 32 to one session): this is a bound on records, and per address so
         * that channels opened with someone's GUID from elsewhere never use up that client's allowance.
         */
        maxChannelsPerClientAddress: z.number().int().min(1).max(1024).default(256),
        /**
         * Connections past their NEGOTIATE waiting for an owner (an smbd pool member), one fd each; at the
         * bound the oldest is closed. Under overload the newest are served first (adaptive LIFO).
         */
        maxWaitingForOwner: z.number().int().min(1).max(100_000).default(4096),
      })
      .strict()
      .default({}),
    /** What FSCTL_QUERY_NETWORK_INTERFACE_INFO announces (see ifdiscovery/config.ts). */
    interfaces: discoveryConfigSchema.default({}),
    /** What survives a restart of mccd (docs/restart.md). */
    state: z
      .object({
        /**
         * The state file: clients, owners and channels, rewritten atomically as they change. Default:
         * state.json beside the API socket (/run/mcc/state.json for root), so two mccd with their own
         * API sockets never share one.
         */
        file: absolutePath.optional(),
        /** A state bigger than this is not written (and not read): about 300 bytes per channel. */
        maxBytes: z
          .number()
          .int()
          .min(4096)
          .max(1 << 30)
          .default(64 << 20),
        /** How often changes are written at most; a kill -9 loses at most this much. */
        writeIntervalMs: z.number().int().min(10).max(60_000).default(200),
        /** After a restart, how long restored clients' workers have to come back before their clients are torn down. */
        ownerWaitMs: z.number().int().min(0).max(120_000).default(3000),
      })
      .strict()
      .default({}),
    log: z
      .object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info') })
      .strict()
      .default({}),
  })
  .strict();

/** The config with its derived defaults filled in. */
export type MccConfig = Omit<z.infer<typeof configSchema>, 'state'> & {
  state: Required<z.infer<typeof configSchema>['state']>;
};

function withDerivedDefaults(c: z.infer<typeof configSchema>): MccConfig {
  return { ...c, state: { ...c.state, file: c.state.file ?? join(dirname(c.api.socket), 'state.json') } };
}

/** /run/mcc/NAME for root; a private per-user directory otherwise (the quick start runs unprivileged too). */
export function defaultRunPath(name: string): string {
  if (process.getuid?.() === 0) return `/run/mcc/${name}`;
  return join(process.env.XDG_RUNTIME_DIR ?? tmpdir(), `mcc-${process.getuid?.() ?? 'user'}`, name);
}

export function defaultApiSocket(): string {
  return defaultRunPath('mccd.sock');
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** One zod issue as `key: message, got <value>` (config files, failover scenario files). */
export function describeIssue(issue: z.ZodIssue, input: unknown): string {
  const key = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
  let got: unknown = input;
  for (const p of issue.path)
    got = got && typeof got === 'object' ? (got as Record<string | number, unknown>)[p] : undefined;
  const shown = issue.code === 'unrecognized_keys' ? '' : `, got ${JSON.stringify(got)}`;
  return `${key}: ${issue.message}${shown}`;
}

export function parseConfig(input: unknown, source = 'config'): MccConfig {
  const parsed = configSchema.safeParse(input ?? {});
  if (!parsed.success) {
    throw new ConfigError(`${source}: ${parsed.error.issues.map((i) => describeIssue(i, input)).join('; ')}`);
  }
  return withDerivedDefaults(parsed.data);
}

/** Reads a JSON or YAML file (YAML is a superset of JSON, so one parser serves both). */
export function loadConfigFile(path: string): MccConfig {
  let text: string;
  try {
    // Size first, from the open file: a huge YAML list takes minutes and the heap before it fails.
    const fd = openSync(path, 'r');
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new ConfigError(`${path}: expected a regular file`);
      const size = st.size;
      if (size > MAX_CONFIG_BYTES)
        throw new ConfigError(`${path}: ${size} bytes, expected at most ${MAX_CONFIG_BYTES} (1 MiB)`);
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`${path}: not valid JSON or YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  return parseConfig(value, path);
}

/** The embedded default: loopback, unprivileged port, cluster view from ctdbd if it answers. */
export function embeddedDefaultConfig(): MccConfig {
  return parseConfig({});
}
