/**
 * Config values that cross a trust boundary, checked where they are parsed so that `--check-config`
 * refuses them too: paths mccd opens or binds, addresses it listens on, the API token file.
 */
import { statSync } from 'node:fs';
import { isIP } from 'node:net';
import { posix } from 'node:path';
import { z } from 'zod';

/** Largest config file mccd parses: far above any real one, far below what hurts the YAML parser. */
export const MAX_CONFIG_BYTES = 1 << 20;

/**
 * Absolute and already normalised: a relative path would depend on the directory mccd was started in,
 * and `..` hides where the path leads from whoever reviews the config.
 */
export const absolutePath = z
  .string()
  .min(1, 'expected an absolute path')
  .refine(
    (p) => p.startsWith('/') && posix.normalize(p) === p && !p.split('/').includes('..'),
    'expected an absolute, normalised path (no relative path, no "..", no "//" or trailing "/")',
  );

export const ipAddress = z.string().refine((a) => isIP(a) !== 0, 'expected an IP address');

/** Loopback only: the TCP API is for tools on this host; anything wider is reachable from the network. */
export function isLoopback(address: string): boolean {
  if (isIP(address) === 4) return address.startsWith('127.');
  return address === '::1' || address === '::ffff:127.0.0.1';
}

export const loopbackAddress = z
  .string()
  .refine(
    isLoopback,
    'expected a loopback address (127.0.0.0/8 or ::1): the TCP API must not be reachable from the network',
  );

/** The token file must exist and be readable by its owner only: anyone who can read it is an operator. */
export const tokenFile = absolutePath.superRefine((path, ctx) => {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (error) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: `expected an existing token file (${(error as NodeJS.ErrnoException).code})`,
    });
    return;
  }
  if (mode & 0o077)
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: `expected a token file only its owner can read (mode ${(mode & 0o777).toString(8)}; chmod 600 it)`,
    });
});
