import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OperatorApi } from '../../../coordinator/api.js';
import { parseConfig } from '../../../coordinator/config.js';
import { Coordinator } from '../../../coordinator/coordinator.js';
import { createLogger } from '../../../coordinator/log.js';
import { runBin } from '../../helpers/cli.js';
import { describePeer, notRoot } from '../../helpers/skip.js';

const root = mkdtempSync(join(tmpdir(), 'mcc-sockdir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (mode = 0o700) => {
  const d = join(root, `d${n++}`);
  mkdirSync(d);
  chmodSync(d, mode);
  return d;
};

async function startWith(api: string, workers: string): Promise<string> {
  const config = parseConfig({
    listen: [{ address: '127.0.0.1', port: 0 }],
    api: { socket: api },
    backend: { kind: 'worker', socket: workers },
    cluster: { backend: 'single-node' },
    log: { level: 'fatal' },
  });
  const log = createLogger('fatal');
  const coordinator = new Coordinator(config, log);
  const operatorApi = new OperatorApi(coordinator, config.api, log, 'test');
  try {
    await coordinator.start();
    await operatorApi.start();
    return 'started';
  } catch (error) {
    return (error as Error).message;
  } finally {
    await operatorApi.stop().catch(() => undefined);
    await coordinator.stop();
  }
}

describe('socket directories mccd listens in', () => {
  it('a group- or world-writable directory is refused, naming the key', async () => {
    const open = fresh(0o777);
    const ok = fresh();
    expect(await startWith(join(open, 'api.sock'), join(ok, 'w.sock'))).toMatch(
      /^api\.socket: .* is world-writable .*must be owned by root/,
    );
    const group = fresh(0o770);
    expect(await startWith(join(ok, 'api.sock'), join(group, 'w.sock'))).toMatch(
      /^backend\.socket: .* is group-writable/,
    );
  });

  it('a symlink where the socket goes is refused and never followed', async () => {
    const d = fresh();
    const target = join(root, 'precious');
    writeFileSync(target, 'x', { mode: 0o644 });
    chmodSync(target, 0o644);
    symlinkSync(target, join(d, 'api.sock'));
    expect(await startWith(join(d, 'api.sock'), join(fresh(), 'w.sock'))).toMatch(
      /^api\.socket: .*api\.sock exists and is not a socket/,
    );
    expect(statSync(target).mode & 0o777).toBe(0o644);
  });

  it('sockets are born 0600 in a safe directory, and the directory is created 0700', async () => {
    const d = join(fresh(), 'sub');
    const config = parseConfig({ api: { socket: join(d, 'api.sock') } });
    const api = new OperatorApi({} as Coordinator, config.api, createLogger('fatal'), 'test');
    await api.start();
    expect(statSync(d).mode & 0o777).toBe(0o700);
    expect(statSync(join(d, 'api.sock')).mode & 0o777).toBe(0o600);
    await api.stop();
  });

  it('mcc refuses to talk to a socket in a directory others could write to', () => {
    const open = fresh(0o777);
    const out = runBin('mcc', ['status', '--socket', join(open, 'mccd.sock')]);
    expect(out.status).not.toBe(0);
    expect(out.stderr.toString()).toMatch(/--socket: .* is world-writable/);
  });
});

describePeer('socket directories owned by someone else', notRoot(), () => {
  it('mccd and mcc refuse a directory owned by an unprivileged user (nobody)', async () => {
    const d = fresh();
    chownSync(d, 65534, 65534);
    expect(await startWith(join(d, 'api.sock'), join(fresh(), 'w.sock'))).toMatch(
      /^api\.socket: .* is owned by uid 65534/,
    );
    const out = runBin('mcc', ['status', '--socket', join(d, 'mccd.sock')]);
    expect(out.stderr.toString()).toMatch(/--socket: .* is owned by uid 65534/);
  });
});
