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

export function decodeClusterMessage(bytes: Uint8Array): Parsed<ClusterMessage> {
  return decodeJson(clusterMessageSchema, bytes, 'mcc cluster message');
}
