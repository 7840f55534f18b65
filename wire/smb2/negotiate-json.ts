import { bytesToHex } from '../input.js';
import { capabilityNames, dialectName } from './dialects.js';
import type { NegotiateRequest } from './negotiate.js';
import { negotiateContextName } from './negotiate-context.js';

const hex4 = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;

/** The JSON view of a decoded NEGOTIATE request, as `mcc wire decode-negotiate` prints it. */
export function negotiateRequestToJson(req: NegotiateRequest) {
  return {
    messageId: req.header.messageId.toString(),
    clientGuid: req.clientGuid,
    dialects: req.dialects.map((d) => ({ code: hex4(d), name: dialectName(d) })),
    securityMode: req.securityMode,
    signingRequired: (req.securityMode & 0x2) !== 0,
    capabilities: {
      value: `0x${(req.capabilities >>> 0).toString(16).padStart(8, '0')}`,
      names: capabilityNames(req.capabilities),
    },
    ...(req.clientStartTime !== undefined ? { clientStartTime: req.clientStartTime.toString() } : {}),
    ...(req.negotiateContexts !== undefined
      ? {
          negotiateContexts: req.negotiateContexts.map((c) => ({
            type: hex4(c.type),
            name: negotiateContextName(c.type),
            length: c.data.byteLength,
            data: bytesToHex(c.data),
          })),
        }
      : {}),
  };
}
