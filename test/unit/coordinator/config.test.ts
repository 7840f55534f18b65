import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  embeddedDefaultConfig,
  loadConfigFile,
  parseConfig,
} from '../../../coordinator/config.js';
import { runBin } from '../../helpers/cli.js';
import { projectRoot } from '../../helpers/reference.js';

const dir = mkdtempSync(join(tmpdir(), 'mcc-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mccd config', () => {
  it('the embedded default listens on loopback, an unprivileged port, and picks the cluster automatically', () => {
    const c = embeddedDefaultConfig();
    expect(c.listen).toEqual([{ address: '127.0.0.1', port: 4450 }]);
    expect(c.cluster.backend).toBe('auto');
    expect(c.backend.kind).toBe('worker');
  });

  it('errors name the key, what was expected and what was given', () => {
    expect(() => parseConfig({ listen: [{ address: '0.0.0.0', port: 'x' }] })).toThrow(
      /listen\.0\.port: expected an integer port, got "x"/,
    );
    expect(() => parseConfig({ cluster: { backend: 'zookeeper' } })).toThrow(
      /cluster\.backend: .*'auto' \| 'ctdbd' \| 'redis' \| 'single-node'.*got "zookeeper"/,
    );
    expect(() => parseConfig({ backend: { kind: 'smbd' } })).toThrow(/backend\.config: /);
    expect(() => parseConfig({ interfaces: { overrides: { eth0: { speed: -1 } } } })).toThrow(
      /interfaces\.overrides\.eth0\.speed/,
    );
    expect(() => parseConfig({ lisen: [] })).toThrow(ConfigError);
  });

  it('reads YAML and JSON files, and names the file in errors', () => {
    writeFileSync(
      join(dir, 'ok.yaml'),
      'listen:\n  - address: 127.0.0.1\n    port: 14451\nlog:\n  level: debug\n',
    );
    expect(loadConfigFile(join(dir, 'ok.yaml')).log.level).toBe('debug');
    writeFileSync(join(dir, 'bad.json'), '{"negotiate": {"timeoutMs": 5}}');
    expect(() => loadConfigFile(join(dir, 'bad.json'))).toThrow(
      /bad\.json: negotiate\.timeoutMs: Number must be greater than or equal to 100/,
    );
  });

  it('the shipped example config is valid', () => {
    expect(() => loadConfigFile(join(projectRoot, 'deploy/mccd.example.yaml'))).not.toThrow();
  });

  it('mccd --check-config exits 2 with one clear line for a bad file', () => {
    writeFileSync(join(dir, 'bad2.json'), '{"api": {"tcp": {"port": 99999, "tokenFile": "/t"}}}');
    const out = runBin('mccd', ['--check-config', '-c', join(dir, 'bad2.json')]);
    expect(out.status).toBe(2);
    expect(out.stderr.toString()).toMatch(/^mccd: invalid config: .*api\.tcp\.port/);
  });

  it('paths must be absolute and normalised, naming the key', () => {
    expect(() => parseConfig({ api: { socket: 'run/mccd.sock' } })).toThrow(
      /api\.socket: expected an absolute, normalised path .*got "run\/mccd\.sock"/,
    );
    expect(() => parseConfig({ backend: { kind: 'worker', socket: '/run/mcc/../../tmp/w.sock' } })).toThrow(
      /backend\.socket: expected an absolute, normalised path/,
    );
    expect(() => parseConfig({ backend: { kind: 'smbd', config: 'smb.conf' } })).toThrow(/backend\.config: /);
    expect(() => parseConfig({ cluster: { ctdbdSocket: '/run//ctdb/ctdbd.socket' } })).toThrow(
      /cluster\.ctdbdSocket: /,
    );
  });

  it('listen addresses are IP addresses; the TCP API listens on loopback only', () => {
    expect(() => parseConfig({ listen: [{ address: 'localhost', port: 445 }] })).toThrow(
      /listen\.0\.address: expected an IP address, got "localhost"/,
    );
    expect(parseConfig({ listen: [{ address: '::', port: 445 }] }).listen[0]!.address).toBe('::');
    const token = join(dir, 'token');
    writeFileSync(token, 'a'.repeat(32), { mode: 0o600 });
    chmodSync(token, 0o600);
    for (const address of ['0.0.0.0', '::', '192.168.1.10'])
      expect(() => parseConfig({ api: { tcp: { address, port: 9445, tokenFile: token } } })).toThrow(
        /api\.tcp\.address: expected a loopback address/,
      );
    expect(parseConfig({ api: { tcp: { port: 9445, tokenFile: token } } }).api.tcp!.address).toBe(
      '127.0.0.1',
    );
    expect(
      parseConfig({ api: { tcp: { address: '::1', port: 9445, tokenFile: token } } }).api.tcp,
    ).toBeDefined();
  });

  it('the token file must exist and be readable by its owner only', () => {
    const token = join(dir, 'open-token');
    writeFileSync(token, 'a'.repeat(32));
    chmodSync(token, 0o644);
    expect(() => parseConfig({ api: { tcp: { port: 9445, tokenFile: token } } })).toThrow(
      /api\.tcp\.tokenFile: expected a token file only its owner can read \(mode 644/,
    );
    writeFileSync(
      join(dir, 'missing.json'),
      JSON.stringify({ api: { tcp: { port: 9445, tokenFile: join(dir, 'none') } } }),
    );
    const out = runBin('mccd', ['--check-config', '-c', join(dir, 'missing.json')]);
    expect(out.status).toBe(2);
    expect(out.stderr.toString()).toMatch(/api\.tcp\.tokenFile: expected an existing token file \(ENOENT\)/);
  });

  it('cluster.backend redis needs cluster.redisUrl', () => {
    expect(() => parseConfig({ cluster: { backend: 'redis' } })).toThrow(
      /cluster\.redisUrl: expected a redis:\/\/ URL: cluster\.backend redis needs one/,
    );
    expect(
      parseConfig({ cluster: { backend: 'redis', redisUrl: 'redis://127.0.0.1:6379' } }).cluster.backend,
    ).toBe('redis');
  });

  it('a config file over 1 MiB is refused before it is parsed', () => {
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `listen:\n${'  - 1\n'.repeat(300_000)}`);
    const started = Date.now();
    expect(() => loadConfigFile(big)).toThrow(/big\.yaml: \d+ bytes, expected at most 1048576 \(1 MiB\)/);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
