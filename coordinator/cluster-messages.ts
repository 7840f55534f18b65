import { z } from 'zod';
import type { Parsed } from '../wire/errors.js';
import { WireError } from '../wire/errors.js';

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
  return Buffer.from(JSON.stringify(m), 'utf8');
}

export function decodeClusterMessage(bytes: Uint8Array): Parsed<ClusterMessage> {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return { ok: false, error: new WireError('BAD_INPUT', 'mcc cluster message is not JSON', 0) };
  }
  const r = clusterMessageSchema.safeParse(json);
  if (!r.success)
    return {
      ok: false,
      error: new WireError(
        'BAD_VALUE',
        `mcc cluster message: ${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}`,
        0,
      ),
    };
  return { ok: true, value: r.data };
}
