import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { openLoop } from '../../../bench/loadgen.js';

describe('openLoop', () => {
  it('reports the offered rate and the connections it started beside what completed', async () => {
    // A server that accepts and never answers: every connection is an error, none is served.
    const silent = createServer((s) => setTimeout(() => s.destroy(), 20));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const r = await openLoop({ host: '127.0.0.1', port, rate: 200, durationMs: 300 });
      expect(r.offeredPerSec).toBe(200);
      expect(r.started).toBeGreaterThanOrEqual(50);
      expect(r.ok).toBe(0);
      expect(r.errors).toBe(r.started);
      expect(r.connPerSec).toBe(0);
    } finally {
      silent.close();
    }
  });
});
