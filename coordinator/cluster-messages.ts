import { z } from 'zod';
import type { Parsed } from '../wire/errors.js';
import { decodeJson, encodeJson } from '../wire/json.js';

/**
 * Messages between sidecars on the mcc srvid (ctdbd carries them). `claim`: a ClientGUID connected to
 * node `pnn`; any other node holding it drops it (Samba's CONNECTION_DROP, cluster-wide). `query`/`reply`:
 * `mcc cluster channels` collects every node's view.
 */
export const clusterMessageSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('claim'),
      clientGuid: z.string().uuid(),
      pnn: z.number().int().min(0),
      at: z.number(),
    })
    .strict(),
  z
    .object({ type: z.literal('query'), id: z.string().min(1).max(64), from: z.number().int().min(0) })
    .strict(),
  z
    .object({
      type: z.literal('reply'),
      id: z.string().min(1).max(64),
      from: z.number().int().min(0),
      body: z.unknown(),
    })
    .strict(),
]);

export type ClusterMessage = z.infer<typeof clusterMessageSchema>;

export function encodeClusterMessage(m: ClusterMessage): Uint8Array {
  return encodeJson(m);
}

/** zod's uuid() accepts every string this does (it allows more): a claim's GUID as mccd writes it. */
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CLAIM_KEYS = 4;

/**
 * A claim (one per new client on every node, and back to its sender) when the schema certainly accepts
 * it unchanged: the same four keys and bounds as `claim` above. Anything else (undefined) goes to zod,
 * which judges and words it. The profile of a pooled smbd connection had zod's parse of its own claim
 * at ~9% of mccd's busy time.
 */
export function fastClusterMessage(json: unknown): ClusterMessage | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const o = json as Record<string, unknown>;
  if (o.type !== 'claim') return undefined;
  let n = 0;
  for (const k in o) {
    if (!Object.hasOwn(o, k)) return undefined;
    n++;
  }
  if (
    n !== CLAIM_KEYS ||
    !Object.hasOwn(o, 'clientGuid') ||
    !Object.hasOwn(o, 'pnn') ||
    !Object.hasOwn(o, 'at')
  )
    return undefined;
  const { clientGuid, pnn, at } = o;
  if (typeof clientGuid !== 'string' || !GUID.test(clientGuid)) return undefined;
  if (typeof pnn !== 'number' || !Number.isInteger(pnn) || pnn < 0) return undefined;
  if (typeof at !== 'number' || !Number.isFinite(at)) return undefined;
  return o as ClusterMessage;
}

export function decodeClusterMessage(bytes: Uint8Array): Parsed<ClusterMessage> {
  return decodeJson(clusterMessageSchema, bytes, 'mcc cluster message', fastClusterMessage);
}
