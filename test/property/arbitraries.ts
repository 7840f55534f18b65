import fc from 'fast-check';
import { formatIpv4, formatIpv6 } from '../../wire/ip.js';
import type { NetworkInterfaceInfo } from '../../wire/smb2/interface-info.js';
import { envAtLeast } from '../helpers/env.js';

/** Shared generators for the wire property tests and the tshark oracle. */

export const arbU32 = fc.integer({ min: 0, max: 0xffffffff });

export const arbIpv4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map(formatIpv4);

/** Random 16 bytes plus the shapes that stress text formatting: ::, ::1, mapped, runs of zeros. */
export const arbIpv6 = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map(formatIpv6),
  fc
    .tuple(
      fc.integer({ min: 0, max: 7 }),
      fc.integer({ min: 0, max: 8 }),
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
    )
    .map(([start, len, bytes]) => {
      const b = Uint8Array.from(bytes);
      for (let g = start; g < Math.min(8, start + len); g++) {
        b[g * 2] = 0;
        b[g * 2 + 1] = 0;
      }
      return formatIpv6(b);
    }),
  fc.constantFrom('::', '::1', 'fe80::1', 'fd00:5e::11', '2001:db8::', '1::'),
);

export const arbInterface: fc.Arbitrary<NetworkInterfaceInfo> = fc.oneof(
  fc.record({
    ifIndex: arbU32,
    capability: fc.integer({ min: 0, max: 3 }),
    linkSpeed: fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }),
    family: fc.constant('ipv4' as const),
    address: arbIpv4,
  }),
  fc.record({
    ifIndex: arbU32,
    capability: fc.integer({ min: 0, max: 3 }),
    linkSpeed: fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }),
    family: fc.constant('ipv6' as const),
    address: arbIpv6,
  }),
);

export function arbInterfaceList(options: { maxLength?: number } = {}) {
  return fc.array(arbInterface, { minLength: 0, maxLength: options.maxLength ?? 16 });
}

/** Applies a random set of byte overwrites, then maybe a truncation, to a valid encoding. */
export function arbMutationOf(valid: Uint8Array) {
  return fc
    .tuple(
      fc.array(
        fc.tuple(fc.nat({ max: Math.max(0, valid.byteLength - 1) }), fc.integer({ min: 0, max: 255 })),
        {
          maxLength: 8,
        },
      ),
      fc.option(fc.nat({ max: valid.byteLength }), { nil: undefined }),
    )
    .map(([writes, cut]) => {
      const out = Uint8Array.from(valid);
      for (const [at, value] of writes) if (at < out.byteLength) out[at] = value;
      return cut === undefined ? out : out.subarray(0, cut);
    });
}

// Below 100 runs the properties, and the parse-rate floors in them, say little.
export const RUNS = envAtLeast('MCC_FUZZ_RUNS', 10_000, 100);
