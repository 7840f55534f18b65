import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
});
