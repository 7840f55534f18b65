import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { isGuid } from '../../../wire/guid.js';
import { dialectName } from '../../../wire/smb2/dialects.js';
import { Smb2Client } from './client.js';
import { Smb2ConnectionError, Smb2StatusError } from './connection.js';
import type { LeaseV2 } from './create-contexts.js';

/**
 * durable-probe: what a client's durable handle does across a failover, as JSON lines on stdout.
 *
 *   node dist/test/harness/smb2/durable-probe.js open --server IP --share S --user U --password P
 *        --file NAME [--timeout-ms N] [--create-guid GUID] [--lease [--lease-key HEX]] [--echo-ms N]
 *        [common options]
 *     opens (creates) NAME with a batch oplock (or with --lease an RWH lease, key random unless
 *     given) and a durable-v2 request for --timeout-ms (default 60000; smbd caps it at 300000), prints
 *     {"event":"opened","durable":…,"timeoutMs":…,"fileId":…,"createGuid":…,…} and holds the open
 *     until the connection ends ({"event":"closed","reason":…}, exit 0) or the process is killed.
 *     SIGTERM/SIGINT drop the connection without a CLOSE, like a crashed client. With --echo-ms N it
 *     sends an ECHO every N ms and gives the connection up when one goes unanswered (--io-timeout-ms).
 *     Oplock and lease breaks are printed ({"event":"break",…}) but not acknowledged.
 *
 *   node dist/test/harness/smb2/durable-probe.js reconnect --server IP --share S --user U --password P
 *        --file NAME --file-id HEX --create-guid GUID [--lease-key HEX] [--hold] [common options]
 *     new connection and session, CREATE with DH2C (and the lease key the open held, if it held a
 *     lease; smbd 4.17 then also wants the open's --client-guid): prints {"event":"reconnected",…}
 *     (exit 0; then CLOSEs the handle unless --hold) or
 *     {"event":"reconnect-failed","status":"NT_STATUS_…"} (exit 2).
 *
 *   common options: --port N (445) --domain D ('') --io-timeout-ms N (10000, per request and connect)
 *     --client-guid GUID (random): a real client reconnects with its own ClientGUID; smbd reclaims a
 *     leased durable handle only for the ClientGUID that opened it (durable.c), and keeps one client
 *     (by ClientGUID) on one cluster node, so a failover test may want to pin it.
 *   --help (or -h) prints the usage; a usage error exits 64.
 *   Any other failure prints {"event":"error","message":…[,"status":…]} and exits 1.
 */
const USAGE = `usage: durable-probe open|reconnect --server IP --share S --user U --password P --file NAME
  open:      [--timeout-ms N] [--create-guid GUID] [--lease [--lease-key HEX]] [--echo-ms N]
  reconnect: --file-id HEX --create-guid GUID [--lease-key HEX] [--hold]
  common:    [--port N] [--domain D] [--io-timeout-ms N] [--client-guid GUID]`;

const OPTIONS = {
  server: { type: 'string' },
  share: { type: 'string' },
  user: { type: 'string' },
  password: { type: 'string' },
  domain: { type: 'string', default: '' },
  file: { type: 'string' },
  port: { type: 'string', default: '445' },
  'timeout-ms': { type: 'string', default: '60000' },
  'io-timeout-ms': { type: 'string', default: '10000' },
  'echo-ms': { type: 'string', default: '0' },
  'create-guid': { type: 'string' },
  'client-guid': { type: 'string' },
  'file-id': { type: 'string' },
  lease: { type: 'boolean', default: false },
  'lease-key': { type: 'string' },
  hold: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

/** One JSON line per event, stamped so a failover harness can line events up with its own timeline. */
function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ...event, at: new Date().toISOString() })}\n`);
}

class UsageError extends Error {}

function required(value: string | undefined, name: string): string {
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

function integer(value: string, name: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
  return n;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function hex16Arg(text: string, name: string, what: string): Uint8Array {
  if (!/^[0-9a-fA-F]{32}$/.test(text)) throw new UsageError(`--${name} must be 32 hex digits (${what})`);
  return new Uint8Array(Buffer.from(text, 'hex'));
}

function guidArg(text: string, name = 'create-guid'): string {
  if (!isGuid(text)) throw new UsageError(`--${name} must be a GUID, got ${JSON.stringify(text)}`);
  return text.toLowerCase();
}

/** What the server granted: the lease key and state (7 = RWH), when the open holds a lease. */
/** What `opened` and `reconnected` both say of the handle. */
function openFields(
  open: { fileId: Uint8Array; oplockLevel: number; lease?: LeaseV2 | undefined },
  client: Smb2Client,
  createGuid: string,
): Record<string, unknown> {
  return {
    fileId: hex(open.fileId),
    createGuid,
    oplockLevel: open.oplockLevel,
    ...(open.lease ? { leaseKey: hex(open.lease.leaseKey), leaseState: open.lease.leaseState } : {}),
    dialect: dialectName(client.dialect),
  };
}

/** Holds the connection until it ends or a signal asks the probe to drop it without a CLOSE. */
async function hold(client: Smb2Client, echoMs: number): Promise<never> {
  const drop = (signal: string) => client.connection.destroy(`${signal}: dropped without CLOSE`);
  process.once('SIGTERM', () => drop('SIGTERM'));
  process.once('SIGINT', () => drop('SIGINT'));
  client.connection.on('unsolicited', (msg) => {
    emit({ event: 'break', command: msg.header.command, status: msg.header.status });
  });
  const timer =
    echoMs > 0
      ? setInterval(() => {
          // A path that silently died (no RST, e.g. a partition) shows only as an unanswered ECHO:
          // give up on the connection then, as a real client's keep-alive would.
          client.echo().catch((error: Error) => client.connection.destroy(`ECHO failed: ${error.message}`));
        }, echoMs)
      : undefined;
  const reason = await client.connection.closed;
  if (timer) clearInterval(timer);
  emit({ event: 'closed', reason });
  process.exit(0);
}

async function main(argv: string[]): Promise<number> {
  const command = argv[0];
  const { values } = parseArgs({
    args: command?.startsWith('-') ? [] : argv.slice(1),
    options: OPTIONS,
    strict: true,
  });
  const help = values.help || command === '--help' || command === '-h';
  if (help || (command !== 'open' && command !== 'reconnect')) {
    process.stderr.write(`${USAGE}\n`);
    return help ? 0 : 64;
  }
  const server = required(values.server, 'server');
  const share = required(values.share, 'share');
  const file = required(values.file, 'file');
  const creds = {
    user: required(values.user, 'user'),
    password: required(values.password, 'password'),
    domain: values.domain,
  };
  const port = integer(values.port, 'port', 1, 65535);
  const timeoutMs = integer(values['io-timeout-ms'], 'io-timeout-ms', 1, 600_000);
  const clientGuid = values['client-guid'] ? guidArg(values['client-guid'], 'client-guid') : randomUUID();
  const common = { server, share, file, port, clientGuid };
  const leaseKeyArg = values['lease-key']
    ? hex16Arg(values['lease-key'], 'lease-key', 'the lease key "opened" printed')
    : undefined;
  if (command === 'open') {
    const durableMs = integer(values['timeout-ms'], 'timeout-ms', 0, 0xffffffff);
    const echoMs = integer(values['echo-ms'], 'echo-ms', 0, 3_600_000);
    const createGuid = values['create-guid'] ? guidArg(values['create-guid']) : randomUUID();
    if (values['lease-key'] && !values.lease) throw new UsageError('--lease-key needs --lease');
    const leaseKey = values.lease ? (leaseKeyArg ?? new Uint8Array(randomBytes(16))) : undefined;
    const client = await Smb2Client.ready({ server, port, share, creds, timeoutMs, clientGuid });
    const open = await client.openDurable(file, durableMs, createGuid, leaseKey);
    emit({
      event: 'opened',
      durable: open.durable !== undefined,
      timeoutMs: open.durable?.timeoutMs ?? 0,
      durableFlags: open.durable?.flags ?? 0,
      ...openFields(open, client, createGuid),
      ...common,
      pid: process.pid,
    });
    return hold(client, echoMs);
  }
  const fileId = hex16Arg(
    required(values['file-id'], 'file-id'),
    'file-id',
    'the 16-byte SMB2_FILEID as "opened" printed it',
  );
  const createGuid = guidArg(required(values['create-guid'], 'create-guid'));
  const client = await Smb2Client.ready({ server, port, share, creds, timeoutMs, clientGuid });
  try {
    const open = await client.reconnectDurable(file, fileId, createGuid, leaseKeyArg);
    emit({
      event: 'reconnected',
      ...openFields(open, client, createGuid),
      ...common,
      pid: process.pid,
    });
    if (values.hold) return hold(client, 0);
    await client.close(open.fileId);
    client.connection.destroy('done');
    return 0;
  } catch (error) {
    if (!(error instanceof Smb2StatusError)) throw error;
    emit({ event: 'reconnect-failed', status: error.statusName, ...common, pid: process.pid });
    client.connection.destroy('done');
    return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`durable-probe: ${(error as Error).message}\n${USAGE}\n`);
      process.exit(64);
    }
    const e = error as Error;
    const status = error instanceof Smb2StatusError ? { status: error.statusName } : {};
    const kind = error instanceof Smb2ConnectionError ? 'connection' : e.name;
    emit({ event: 'error', kind, message: e.message, ...status });
    process.exit(1);
  },
);
