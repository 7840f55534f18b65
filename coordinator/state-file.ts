/**
 * mccd's state file: every client it knows (ClientGUID, owner, dialect, channels by 4-tuple with their
 * public-IP flag), so a restarted mccd can take its clients back instead of tearing them down
 * (docs/restart.md). Written atomically (temporary file, fsync, rename, fsync of the directory), so a
 * kill -9 leaves the previous version or the new one, never half of one; read back through a zod schema
 * with a typed error, like every other input: the file may be stale, truncated by a full disk, or not
 * ours. Each client record is checked by state-check.ts, the schema's hand-written equivalent (zod per
 * record was most of a restart's time at 100k clients).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { ClientRecord } from '../statecharts/persist.js';
import { MAX_CHANNELS_PER_CLIENT } from '../statecharts/types.js';
import { type Parsed, WireError } from '../wire/errors.js';
import { decodeJson } from '../wire/json.js';
import { isClientRecord } from './state-check.js';

export const STATE_FILE_VERSION = 1;

export const guidSchema = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'expected a GUID');

/**
 * An address as the front door recorded it. Not z.string().ip(): an address it does not accept (an IPv6
 * zone, say) would refuse a whole file, and every client with it.
 */
const ip = z
  .string()
  .min(2)
  .max(64)
  .regex(/^[0-9A-Za-z:.%_-]+$/, 'expected an IP address');
const port = z.number().int().min(0).max(65535);
const time = z.number().int().min(0).max(8.64e15);

const tuple = z.object({ localAddress: ip, localPort: port, remoteAddress: ip, remotePort: port }).strict();

export const channelSchema = z
  .object({
    id: z.number().int().min(1).max(0xffffffff),
    state: z.enum(['accepted', 'handedOff', 'bound', 'active', 'failing', 'closed']),
    tuple,
    interfaceName: z.string().min(1).max(64).optional(),
    transport: z.enum(['tcp', 'rdma']),
    onPublicIp: z.boolean(),
    createdAt: time,
  })
  .strict();

const owner = z
  .object({
    kind: z.string().min(1).max(16),
    id: z.string().min(1).max(64),
    pid: z.number().int().min(1).max(0x7fffffff).optional(),
  })
  .strict();

export const reasonSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('release-ip'), ip: z.string().max(64) }).strict(),
  z.object({ kind: z.literal('dropped'), toNode: z.number().int() }).strict(),
  z.object({ kind: z.literal('owner-crashed'), owner: z.string().max(64) }).strict(),
  z.object({ kind: z.literal('admin'), by: z.string().max(200).optional() }).strict(),
  z.object({ kind: z.literal('cluster-lost') }).strict(),
  z.object({ kind: z.literal('unmatched-after-restart'), why: z.string().max(200) }).strict(),
]);

const client = z
  .object({
    clientGuid: guidSchema,
    state: z.enum(['negotiating', 'active', 'tearingDown']),
    owner: owner.optional(),
    dialect: z.number().int().min(0).max(0xffff).optional(),
    channels: z.array(channelSchema).max(MAX_CHANNELS_PER_CLIENT),
    nextChannelId: z
      .number()
      .int()
      .min(1)
      .max(0xffffffff + 1),
    createdAt: time,
    teardown: reasonSchema.optional(),
    lostPublicIps: z
      .array(z.object({ ip, at: time }).strict())
      .max(8)
      .optional(),
  })
  .strict()
  .refine((c) => c.channels.every((ch) => ch.id < c.nextChannelId), {
    message: 'expected every channel id below nextChannelId',
  })
  .refine((c) => new Set(c.channels.map((ch) => ch.id)).size === c.channels.length, {
    message: 'expected distinct channel ids',
  })
  .refine((c) => (c.state === 'tearingDown') === (c.teardown !== undefined), {
    message: 'expected a teardown reason exactly when the client was tearing down',
  });

export const stateFileSchema = z
  .object({
    version: z.literal(STATE_FILE_VERSION),
    writtenAt: time,
    /** The mccd that wrote it, and the node it ran as: state from another node is never adopted. */
    pid: z.number().int().min(1).max(0x7fffffff),
    pnn: z.number().int().min(0).max(0xffffffff),
    backend: z.enum(['worker', 'smbd']),
    /** Checked one by one (clientSchema): one bad record costs its own client, not every client. */
    clients: z.array(z.unknown()),
  })
  .strict();

export const clientSchema = client;

export type StateFile = Omit<z.infer<typeof stateFileSchema>, 'clients'> & { clients: ClientRecord[] };

/** A state file as read: the clients that passed, and why the others did not (their connections are then unknown, and closed). */
export interface DecodedState {
  state: StateFile;
  rejected: string[];
}

export function encodeStateFile(state: StateFile): Buffer {
  return Buffer.from(JSON.stringify(state), 'utf8');
}

/** The state file's bytes as a StateFile, or a typed error naming what is wrong (never throws). */
export function decodeStateFile(bytes: Uint8Array, maxBytes: number): Parsed<DecodedState> {
  if (bytes.byteLength > maxBytes)
    return {
      ok: false,
      error: new WireError('OVERSIZED', `state file of ${bytes.byteLength} bytes exceeds ${maxBytes}`, 0),
    };
  const top = decodeJson(stateFileSchema, bytes, 'state file');
  if (!top.ok) return top;
  const clients: ClientRecord[] = [];
  const rejected: string[] = [];
  const seen = new Set<string>();
  top.value.clients.forEach((raw, i) => {
    let record: ClientRecord;
    // The hand-written check first (it copies nothing); zod, the specification, for a record it
    // refuses: for the message, and its verdict is the one kept.
    if (isClientRecord(raw)) record = raw;
    else {
      const r = clientSchema.safeParse(raw);
      if (!r.success) {
        const issue = r.error.issues[0];
        rejected.push(`clients.${i}.${issue?.path.join('.') ?? ''}: ${issue?.message}`);
        return;
      }
      record = r.data as ClientRecord;
    }
    const key = record.clientGuid.toLowerCase();
    if (seen.has(key)) {
      rejected.push(`clients.${i}: ClientGUID ${record.clientGuid} recorded twice`);
      return;
    }
    seen.add(key);
    clients.push(record);
  });
  return { ok: true, value: { state: { ...top.value, clients }, rejected } };
}

export type StateRead =
  | { kind: 'none' }
  | { kind: 'ok'; state: StateFile; rejected: string[] }
  | { kind: 'bad'; error: WireError | Error };

/**
 * Reads the state file: none when there is none, bad when it cannot be trusted (not a regular file,
 * not owned by mccd's uid, writable by others, too big, or not a state file). Size and owner are
 * judged on the open file, before a byte is parsed.
 */
export function readStateFile(path: string, maxBytes: number): StateRead {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'none' };
    return { kind: 'bad', error: new Error(`cannot open ${path}: ${code ?? String(error)}`) };
  }
  try {
    const st = fstatSync(fd);
    const uid = process.getuid?.() ?? st.uid;
    if (!st.isFile()) return { kind: 'bad', error: new Error(`${path} is not a regular file`) };
    if (st.uid !== uid || (st.mode & 0o022) !== 0)
      return {
        kind: 'bad',
        error: new Error(`${path} is owned by uid ${st.uid} or writable by others: not trusted`),
      };
    if (st.size > maxBytes)
      return {
        kind: 'bad',
        error: new WireError('OVERSIZED', `state file of ${st.size} bytes exceeds ${maxBytes}`, 0),
      };
    const bytes = Buffer.alloc(st.size);
    let at = 0;
    while (at < st.size) {
      const n = readSync(fd, bytes, at, st.size - at, at);
      if (n === 0) break;
      at += n;
    }
    const parsed = decodeStateFile(bytes.subarray(0, at), maxBytes);
    return parsed.ok ? { kind: 'ok', ...parsed.value } : { kind: 'bad', error: parsed.error };
  } finally {
    closeSync(fd);
  }
}

export class StateTooBig extends Error {
  override readonly name = 'StateTooBig';
}

/** Clients encoded between two turns of the event loop: a big state must not stall teardowns. */
const CLIENTS_PER_CHUNK = 1000;

/**
 * Replaces the state file atomically; throws StateTooBig past maxBytes (the old file stays). Encoded
 * and written in chunks, yielding to the event loop between them: at 100k clients one JSON.stringify
 * would block for about 0.4 s, delaying any RELEASE_IP that arrives meanwhile.
 */
export async function writeStateFile(path: string, state: StateFile, maxBytes: number): Promise<number> {
  const { clients, ...head } = state;
  const tmp = `${path}.tmp`;
  const file = await open(tmp, 'w', 0o600);
  let size = 0;
  const put = async (text: string) => {
    const bytes = Buffer.from(text, 'utf8');
    size += bytes.byteLength;
    if (size > maxBytes) throw new StateTooBig(`state of more than ${maxBytes} bytes (state.maxBytes)`);
    await file.write(bytes);
  };
  try {
    await put(`${JSON.stringify(head).slice(0, -1)},"clients":[`);
    for (let i = 0; i < clients.length; i += CLIENTS_PER_CHUNK) {
      const chunk = clients.slice(i, i + CLIENTS_PER_CHUNK).map((c) => JSON.stringify(c));
      await put(`${i > 0 ? ',' : ''}${chunk.join(',')}`);
      await new Promise((r) => setImmediate(r));
    }
    await put(']}');
    await file.sync();
  } catch (error) {
    await file.close();
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
  await file.close();
  await rename(tmp, path);
  // The rename itself must reach the disk before a crash could make the old name come back.
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
  return size;
}
