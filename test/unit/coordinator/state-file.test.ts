import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  readStateFile,
  type StateFile,
  StateTooBig,
  writeStateFile,
} from '../../../coordinator/state-file.js';
import type { ClientRecord } from '../../../statecharts/persist.js';

const dir = mkdtempSync(join(tmpdir(), 'mcc-state-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function client(i: number): ClientRecord {
  return {
    clientGuid: randomUUID(),
    state: 'active',
    owner: { kind: 'worker', id: 'w1', pid: 42 },
    dialect: 0x311,
    channels: [
      {
        id: 1,
        state: 'active',
        tuple: {
          localAddress: '10.0.0.1',
          localPort: 445,
          remoteAddress: 'fe80::1%eth0',
          remotePort: 1000 + (i % 60000),
        },
        transport: 'tcp',
        onPublicIp: i % 2 === 0,
        createdAt: i,
      },
    ],
    nextChannelId: 2,
    createdAt: i,
  };
}

const state = (n: number): StateFile => ({
  version: 1,
  writtenAt: 1,
  pid: 7,
  pnn: 2,
  backend: 'worker',
  clients: Array.from({ length: n }, (_, i) => client(i)),
});

describe('state file on disk', () => {
  it('what is written (in chunks, across their boundaries) reads back the same', async () => {
    const path = join(dir, 'a.json');
    const s = state(2500);
    const bytes = await writeStateFile(path, s, 1 << 26);
    expect(bytes).toBe(readFileSync(path).byteLength);
    expect(readStateFile(path, 1 << 26)).toEqual({ kind: 'ok', state: s, rejected: [] });
    expect(existsSync(`${path}.tmp`)).toBe(false);
  });

  it('a state over the bound is not written and the previous file stays', async () => {
    const path = join(dir, 'b.json');
    await writeStateFile(path, state(1), 1 << 20);
    const before = readFileSync(path, 'utf8');
    await expect(writeStateFile(path, state(3000), 64 * 1024)).rejects.toBeInstanceOf(StateTooBig);
    expect(readFileSync(path, 'utf8')).toBe(before);
    expect(existsSync(`${path}.tmp`)).toBe(false);
  });

  it('none when absent; refused when writable by others, not a file, too big or not a state file', async () => {
    expect(readStateFile(join(dir, 'none.json'), 1 << 20)).toEqual({ kind: 'none' });
    const open = join(dir, 'open.json');
    await writeStateFile(open, state(1), 1 << 20);
    chmodSync(open, 0o666);
    expect(readStateFile(open, 1 << 20)).toMatchObject({ kind: 'bad', error: { message: /not trusted/ } });
    mkdirSync(join(dir, 'd.json'));
    expect(readStateFile(join(dir, 'd.json'), 1 << 20)).toMatchObject({ kind: 'bad' });
    const big = join(dir, 'big.json');
    await writeStateFile(big, state(50), 1 << 20);
    expect(readStateFile(big, 100)).toMatchObject({ kind: 'bad', error: { code: 'OVERSIZED' } });
    const junk = join(dir, 'junk.json');
    writeFileSync(junk, '{"version":1,', { mode: 0o600 });
    expect(readStateFile(junk, 1 << 20)).toMatchObject({ kind: 'bad', error: { code: 'BAD_INPUT' } });
  });
});
