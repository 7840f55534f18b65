import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMccd, type TestMccd } from '../../harness/mccd.js';

const dir = mkdtempSync(join(tmpdir(), 'mcc-apitcp-'));
const token = 't'.repeat(40);
const port = 20_000 + (process.pid % 20_000);
let mccd: TestMccd;

beforeAll(async () => {
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, token);
  chmodSync(tokenFile, 0o600);
  mccd = await startTestMccd({
    api: { socket: join(dir, 'api.sock'), tcp: { address: '127.0.0.1', port, tokenFile } },
  });
});
afterAll(async () => {
  await mccd.stop();
  rmSync(dir, { recursive: true, force: true });
});

function get(headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/v1/status', headers, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the TCP operator API', () => {
  const auth = { authorization: `Bearer ${token}` };

  it('answers a local tool with the token', async () => {
    expect(await get(auth)).toBe(200);
    expect(await get({ ...auth, host: 'localhost:9445' })).toBe(200);
    expect(await get({ ...auth, host: '[::1]:9445' })).toBe(200);
  });

  it('refuses wrong tokens', async () => {
    expect(await get({})).toBe(403);
    expect(await get({ authorization: `Bearer ${token.slice(0, 20)}` })).toBe(403);
    expect(await get({ authorization: `Bearer ${token}x` })).toBe(403);
  });

  it('refuses what a browser sends, token or not: an Origin header, a Host that is not loopback', async () => {
    expect(await get({ ...auth, origin: 'http://127.0.0.1:9445' })).toBe(403);
    expect(await get({ ...auth, host: 'evil.example:9445' })).toBe(403);
    expect(await get({ ...auth, host: '127.0.0.1.evil.example' })).toBe(403);
    const text = await mccd.coordinator.metrics.registry.getSingleMetricAsString('mcc_api_refused_total');
    expect(text).toMatch(/reason="origin"} 1/);
    expect(text).toMatch(/reason="host"} 2/);
  });
});
