import { z } from 'zod';
import { type Parsed, WireError } from '../../wire/errors.js';
import { decodeJson, encodeJson } from '../../wire/json.js';
import { fastMccdToWorker, fastWorkerToMccd } from './protocol-fast.js';

/**
 * The worker protocol between mccd and SMB backend processes: one JSON object per SOCK_SEQPACKET datagram,
 * a connection fd alongside `channel` (SCM_RIGHTS). The shape follows Samba's smbXsrv_connection_pass0
 * (client guid, channel, connect time, addresses, the NEGOTIATE bytes). See docs/worker-protocol.md.
 */
/**
 * The newest version this side speaks. Version 2 adds `reports` (a worker's channel reports batched in one
 * datagram); a worker registers with the version it wants and mccd serves any it knows (1 or 2), so a
 * version 1 worker sees exactly the version 1 protocol.
 */
export const WORKER_PROTOCOL_VERSION = 2;
export const WORKER_PROTOCOL_VERSIONS = [1, 2] as const;
export const MAX_WORKER_MESSAGE = 64 * 1024;
/** Channels per `held` message; a client with more is reported in several (they add up). */
export const MAX_HELD_CHANNELS = 32;
/** Channel reports per `reports` message (about 110 bytes each, far below MAX_WORKER_MESSAGE). */
export const MAX_REPORTS = 128;

const guid = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'expected a GUID');
const endpoint = z
  .object({ address: z.string().min(1).max(64), port: z.number().int().min(0).max(65535) })
  .strict();
const channelId = z.number().int().min(1).max(0xffffffff);
const negotiated = z
  .object({
    t: z.literal('negotiated'),
    clientGuid: guid,
    channelId,
    dialect: z.number().int().min(0).max(0xffff),
  })
  .strict();
const bound = z.object({ t: z.literal('bound'), clientGuid: guid, channelId }).strict();
const channelClosed = z.object({ t: z.literal('channel-closed'), clientGuid: guid, channelId }).strict();
const base64 = z
  .string()
  .max(MAX_WORKER_MESSAGE)
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64');

export const workerToMccdSchema = z.discriminatedUnion('t', [
  z
    .object({
      t: z.literal('register'),
      version: z.union([z.literal(1), z.literal(2)]),
      workerId: z.string().min(1).max(64),
      capacity: z.number().int().min(1).max(1_000_000).optional(),
      /** The worker kept channels across mccd's restart: `held` messages follow, then `held-done`. */
      resuming: z.boolean().optional(),
    })
    .strict(),
  z
    .object({
      t: z.literal('held'),
      clientGuid: guid,
      channels: z
        .array(z.object({ channelId, local: endpoint, remote: endpoint }).strict())
        .min(1)
        .max(MAX_HELD_CHANNELS),
    })
    .strict(),
  z.object({ t: z.literal('held-done'), clients: z.number().int().min(0).max(10_000_000) }).strict(),
  negotiated,
  bound,
  channelClosed,
  /** Version 2: channel reports in arrival order, each judged as if it had come alone. */
  z
    .object({
      t: z.literal('reports'),
      reports: z
        .array(z.discriminatedUnion('t', [negotiated, bound, channelClosed]))
        .min(1)
        .max(MAX_REPORTS),
    })
    .strict(),
  z.object({ t: z.literal('teardown-done'), clientGuid: guid, seq: z.number().int().min(0) }).strict(),
  z
    .object({
      t: z.literal('interfaces-request'),
      reqId: z.number().int().min(0),
      localAddress: z.string().max(64).optional(),
    })
    .strict(),
]);

export const mccdToWorkerSchema = z.discriminatedUnion('t', [
  z
    .object({
      t: z.literal('registered'),
      workerId: z.string(),
      pnn: z.number().int(),
      /** The version mccd serves this worker; absent means 1 (what a version 1 mccd sends). */
      version: z.literal(2).optional(),
    })
    .strict(),
  z
    .object({
      t: z.literal('channel'),
      clientGuid: guid,
      channelId,
      connectTime: z.number(),
      local: endpoint,
      remote: endpoint,
      /** The peeked NEGOTIATE, transport header included; the same bytes are still unread in the socket. */
      negotiate: base64,
    })
    .strict(),
  z
    .object({
      t: z.literal('teardown'),
      clientGuid: guid,
      seq: z.number().int().min(0),
      reason: z.string().max(200),
    })
    .strict(),
  z.object({ t: z.literal('interfaces'), reqId: z.number().int().min(0), data: base64 }).strict(),
  z.object({ t: z.literal('error'), message: z.string().max(500) }).strict(),
]);

export type WorkerToMccd = z.infer<typeof workerToMccdSchema>;
export type MccdToWorker = z.infer<typeof mccdToWorkerSchema>;
/** One channel report: alone (version 1) or in a `reports` batch (version 2). */
export type ChannelReport = Extract<WorkerToMccd, { t: 'negotiated' | 'bound' | 'channel-closed' }>;

export function encodeWorkerMessage(message: WorkerToMccd | MccdToWorker): Uint8Array {
  const bytes = encodeJson(message);
  if (bytes.byteLength > MAX_WORKER_MESSAGE)
    throw new WireError(
      'OVERSIZED',
      `worker message of ${bytes.byteLength} bytes exceeds ${MAX_WORKER_MESSAGE}`,
      0,
    );
  return bytes;
}

function decodeWith<T>(
  schema: z.ZodType<T>,
  bytes: Uint8Array,
  direction: string,
  fast: (json: unknown) => T | undefined,
): Parsed<T> {
  if (bytes.byteLength > MAX_WORKER_MESSAGE) {
    return {
      ok: false,
      error: new WireError(
        'OVERSIZED',
        `${direction} message of ${bytes.byteLength} bytes exceeds ${MAX_WORKER_MESSAGE}`,
        0,
      ),
    };
  }
  return decodeJson(schema, bytes, `${direction} message`, fast);
}

export function decodeWorkerToMccd(bytes: Uint8Array): Parsed<WorkerToMccd> {
  return decodeWith(workerToMccdSchema, bytes, 'worker', (j) => fastWorkerToMccd(j, MAX_REPORTS));
}

export function decodeMccdToWorker(bytes: Uint8Array): Parsed<MccdToWorker> {
  return decodeWith(mccdToWorkerSchema, bytes, 'mccd', (j) => fastMccdToWorker(j, MAX_WORKER_MESSAGE));
}
