import { z } from 'zod';

/**
 * Operator knobs for what a node announces, the same ones Samba's `interfaces` option takes
 * ("eth0;speed=…,capability=RSS,capability=RDMA,if_index=…"), validated with messages that name the key.
 */
export const interfaceOverrideSchema = z
  .object({
    /** Link speed in bits/s; replaces what sysfs says. */
    speed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    rss: z.boolean().optional(),
    rdma: z.boolean().optional(),
    ifIndex: z.number().int().min(1).max(0xffffffff).optional(),
    /** false leaves the interface out entirely. */
    include: z.boolean().optional(),
  })
  .strict();

export const discoveryConfigSchema = z
  .object({
    /** Only these interfaces (by name) when non-empty. */
    include: z.array(z.string().min(1)).default([]),
    /** Never these interfaces (by name). */
    exclude: z.array(z.string().min(1)).default([]),
    /** Addresses never announced besides the public ones (e.g. a management address). */
    excludeAddresses: z.array(z.string().min(1)).default([]),
    includeLoopback: z.boolean().default(false),
    /** bits/s when sysfs has no speed (virtual links report -1 or nothing). */
    defaultSpeed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(1_000_000_000),
    /**
     * Also answer with the address the asking connection arrived on, even if it is a public IP (Samba ≥
     * 4.20 does this, so a cluster whose only addresses are public still gets a usable answer). Off by
     * default: it breaks rule one, no public IP announced, for every client that arrives on one.
     */
    includeRequesterAddress: z.boolean().default(false),
    overrides: z.record(z.string().min(1), interfaceOverrideSchema).default({}),
    sysfsRoot: z.string().min(1).default('/sys'),
  })
  .strict();

export type DiscoveryConfig = z.infer<typeof discoveryConfigSchema>;
export type InterfaceOverride = z.infer<typeof interfaceOverrideSchema>;
