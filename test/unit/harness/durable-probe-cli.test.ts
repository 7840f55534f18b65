import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../helpers/reference.js';

/** The probe's command line: usage errors are exit 64 with the usage text, failures one JSON line. */
const PROBE = join(projectRoot, 'dist/test/harness/smb2/durable-probe.js');

function probe(...args: string[]) {
  if (!existsSync(PROBE)) throw new Error(`${PROBE} is missing: run "npm run build" first`);
  const r = spawnSync(process.execPath, [PROBE, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const LOGIN = ['--server', '127.0.0.1', '--share', 's', '--user', 'u', '--password', 'p', '--file', 'f'];

describe('durable-probe command line', () => {
  it('--help prints the usage and exits 0', () => {
    for (const args of [['open', '--help'], ['--help'], ['-h']]) {
      const r = probe(...args);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain('usage: durable-probe open|reconnect');
    }
  });

  it('an unknown command, a missing option or a bad value is a usage error (64)', () => {
    expect(probe('frobnicate').code).toBe(64);
    expect(probe().code).toBe(64);
    const missing = probe('open', '--server', '127.0.0.1');
    expect(missing.code).toBe(64);
    expect(missing.stderr).toContain('--share is required');
    const badId = probe(
      'reconnect',
      ...LOGIN,
      '--file-id',
      'xyz',
      '--create-guid',
      '00000000-0000-0000-0000-000000000000',
    );
    expect(badId.code).toBe(64);
    expect(badId.stderr).toContain('--file-id must be 32 hex digits');
    const badGuid = probe('reconnect', ...LOGIN, '--file-id', '0'.repeat(32), '--create-guid', 'nope');
    expect(badGuid.stderr).toContain('--create-guid must be a GUID');
    expect(probe('open', ...LOGIN, '--port', '0').stderr).toContain('--port must be an integer in 1..65535');
    expect(probe('open', ...LOGIN, '--bogus').code).toBe(64);
  });

  it('a server that is not there is one "error" line and exit 1', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = String((server.address() as { port: number }).port);
    await new Promise((r) => server.close(r));
    const r = probe('open', ...LOGIN, '--port', port);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ event: 'error', kind: 'connection' });
  });
});
