import { z } from 'zod';
import { WireError } from '../errors.js';
import { ipFamily } from '../ip.js';
import { capabilityList, InterfaceCapability, type NetworkInterfaceInfo } from './interface-info.js';

/**
 * The JSON view of an interface list that `mcc wire` prints and reads, and that the operator API serves.
 * linkSpeed is a number of bits/s when it is a safe integer, otherwise a decimal string (u64).
 */
export interface InterfaceJson {
  ifIndex: number;
  capabilities: string[];
  linkSpeed: number | string;
  family: 'ipv4' | 'ipv6';
  address: string;
  rssQueueCount?: number;
  port?: number;
  flowInfo?: number;
  scopeId?: number;
}

export function interfaceToJson(e: NetworkInterfaceInfo): InterfaceJson {
  const out: InterfaceJson = {
    ifIndex: e.ifIndex,
    capabilities: capabilityList(e.capability),
    linkSpeed: e.linkSpeed <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(e.linkSpeed) : e.linkSpeed.toString(),
    family: e.family,
    address: e.address,
  };
  if (e.rssQueueCount) out.rssQueueCount = e.rssQueueCount;
  if (e.port) out.port = e.port;
  if (e.flowInfo) out.flowInfo = e.flowInfo;
  if (e.scopeId) out.scopeId = e.scopeId;
  return out;
}

const u32 = z.number().int().min(0).max(0xffffffff);
const capabilityToken = z.union([
  z.literal('RSS'),
  z.literal('RDMA'),
  z.string().regex(/^0x[0-9a-fA-F]{1,8}$/, 'a capability is "RSS", "RDMA" or a hex bit mask such as "0x4"'),
]);

const interfaceSchema = z
  .object({
    ifIndex: u32,
    capabilities: z.array(capabilityToken).default([]),
    linkSpeed: z.union([
      z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
      z.string().regex(/^\d{1,20}$/, 'linkSpeed as a string must be decimal digits'),
    ]),
    family: z.enum(['ipv4', 'ipv6']).optional(),
    address: z.string().refine((a) => ipFamily(a) !== undefined, 'address must be an IPv4 or IPv6 address'),
    rssQueueCount: u32.optional(),
    port: z.number().int().min(0).max(0xffff).optional(),
    flowInfo: u32.optional(),
    scopeId: u32.optional(),
  })
  .strict();

const interfaceArraySchema = z.array(interfaceSchema);
const interfaceObjectSchema = z
  .object(
    { interfaces: interfaceArraySchema },
    { invalid_type_error: 'expected an array of interfaces or {"interfaces": [...]}' },
  )
  .strict()
  .transform((o) => o.interfaces);

function zodMessage(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`)
    .join('; ');
}

/** Parses the JSON view back into the model; errors name the JSON path and the expectation. */
export function interfacesFromJson(value: unknown): NetworkInterfaceInfo[] {
  // Chosen by shape rather than with z.union, whose error for one bad entry is a bare "Invalid input"
  // at the top level instead of the entry's path and expectation.
  const schema = Array.isArray(value) ? interfaceArraySchema : interfaceObjectSchema;
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new WireError('BAD_INPUT', `interface list JSON: ${zodMessage(parsed.error)}`, 0);
  return parsed.data.map((j, i) => {
    const family = ipFamily(j.address)!;
    if (j.family && j.family !== family) {
      throw new WireError(
        'BAD_INPUT',
        `interface list JSON: ${i}.family says ${j.family} but ${j.address} is ${family}`,
        0,
      );
    }
    let capability = 0;
    for (const token of j.capabilities) {
      if (token === 'RSS') capability |= InterfaceCapability.RSS;
      else if (token === 'RDMA') capability |= InterfaceCapability.RDMA;
      else capability |= Number.parseInt(token, 16);
    }
    const linkSpeed = BigInt(j.linkSpeed);
    if (linkSpeed > 0xffffffffffffffffn)
      throw new WireError('BAD_INPUT', `interface list JSON: ${i}.linkSpeed exceeds u64`, 0);
    const e: NetworkInterfaceInfo = {
      ifIndex: j.ifIndex,
      capability: capability >>> 0,
      linkSpeed,
      family,
      address: j.address,
    };
    if (j.rssQueueCount) e.rssQueueCount = j.rssQueueCount;
    if (j.port) e.port = j.port;
    if (j.flowInfo) e.flowInfo = j.flowInfo;
    if (j.scopeId) e.scopeId = j.scopeId;
    return e;
  });
}
