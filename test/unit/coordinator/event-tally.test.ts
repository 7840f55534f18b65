import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../../coordinator/config.js';
import { Coordinator } from '../../../coordinator/coordinator.js';
import { EventTally } from '../../../coordinator/event-tally.js';
import { buildNegotiateRequest, frame } from '../../../wire/index.js';

function collector() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, log: pino({ level: 'info' }, sink) };
}

describe('events an outsider can cause are summarised, not logged one by one', () => {
  afterAll(() => vi.useRealTimers());

  it('the first of each reason gets a line, then one summary per interval with counts by reason', () => {
    vi.useFakeTimers();
    const { lines, log } = collector();
    const tally = new EventTally(log, { what: 'connections refused', level: 'info', intervalMs: 10_000 });
    for (let i = 0; i < 1000; i++) tally.note('timeout', { i }, 'closing connection: timeout');
    for (let i = 0; i < 10; i++) tally.note('smb1', { i }, 'closing SMB1 connection');
    expect(lines).toHaveLength(2);
    vi.advanceTimersByTime(10_000);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ counts: { timeout: 1000, smb1: 10 }, total: 1010 });
    expect(lines[2]!.msg).toMatch(/^1010 connections refused in the last 10 s \(timeout 1000, smb1 10\)/);
    tally.note('timeout', {}, 'closing connection: timeout');
    expect(lines).toHaveLength(4); // a new interval: its first event is logged again
    vi.advanceTimersByTime(10_000);
    expect(lines).toHaveLength(4); // nothing went unlogged: no summary
    vi.useRealTimers();
  });

  it('a flood of refused connections at the front door is counted in full but logged in a few lines', async () => {
    const { lines, log } = collector();
    const config = parseConfig({
      listen: [{ address: '127.0.0.1', port: 0 }],
      api: { socket: `/tmp/mcc-tally-${process.pid}/api.sock` },
      backend: { kind: 'worker', socket: `/tmp/mcc-tally-${process.pid}/w.sock` },
      cluster: { backend: 'single-node' },
    });
    const coordinator = new Coordinator(config, log);
    await coordinator.start();
    const port = coordinator.frontDoor.addresses()[0]!.port;
    try {
      const before = lines.length;
      const n = 200;
      for (let i = 0; i < n; i++) {
        const s = connect(port, '127.0.0.1');
        s.on('error', () => undefined); // mccd may reset it: unread bytes thrown away with the socket
        await once(s, 'connect');
        // No worker is registered: each well-formed NEGOTIATE is refused with no-backend.
        s.end(frame(buildNegotiateRequest({ clientGuid: randomUUID() })));
        await new Promise((resolve) => s.once('close', resolve));
      }
      const text = await coordinator.metrics.registry.getSingleMetricAsString(
        'mcc_rejected_connections_total',
      );
      expect(text).toMatch(new RegExp(`reason="no-backend"} ${n}`));
      expect(lines.length - before).toBeLessThan(5);
    } finally {
      await coordinator.stop();
      rmSync(`/tmp/mcc-tally-${process.pid}`, { recursive: true, force: true });
    }
  });
});
