import { execFileSync } from 'node:child_process';
import { describe } from 'vitest';

/**
 * Real-peer tests need programs, root or namespaces. Where one is missing they skip *loudly*: a
 * visible "SKIPPED: <suite>: <reason>" line. CI sets MCC_REQUIRE_PEERS=1, which turns any such skip into
 * a failure, because CI has every prerequisite and must run these tests.
 */
export function missingPrograms(...programs: string[]): string | undefined {
  const missing = programs.filter((p) => {
    try {
      execFileSync('sh', ['-c', `command -v ${p}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  return missing.length > 0 ? `missing ${missing.join(', ')} (run scripts/provision-test.sh)` : undefined;
}

export function notRoot(): string | undefined {
  return process.getuid?.() === 0
    ? undefined
    : "needs root (network namespaces, ports, other users' sockets)";
}

export function firstReason(...reasons: (string | undefined)[]): string | undefined {
  return reasons.find((r) => r !== undefined);
}

/** describe() that runs when `reason` is undefined, and otherwise prints SKIPPED (or fails under CI). */
export function describePeer(name: string, reason: string | undefined, body: () => void): void {
  if (reason === undefined) {
    describe(name, body);
    return;
  }
  if (process.env.MCC_REQUIRE_PEERS === '1') {
    describe(name, () => {
      throw new Error(`peer test cannot run but MCC_REQUIRE_PEERS=1: ${reason}`);
    });
    return;
  }
  process.stdout.write(`SKIPPED: ${name}: ${reason}\n`);
  describe.skip(`${name} [SKIPPED: ${reason}]`, body);
}
