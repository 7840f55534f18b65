import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { type BreakRetryEmitted, breakRetryMachine, retryDelayFor } from '../../../statecharts/index.js';

function run(policy: 'samba' | 'windows', channels: { id: number; rtoMs: number }[]) {
  const clock = new SimulatedClock();
  const actor = createActor(breakRetryMachine, { clock, input: { breakId: 'b1', channels, policy } });
  const emitted: BreakRetryEmitted[] = [];
  for (const type of ['send', 'probe', 'delivered', 'gaveUp'] as const)
    actor.on(type, (e) => emitted.push(e as BreakRetryEmitted));
  actor.start();
  return { actor, clock, emitted };
}

describe('break retry (Samba bug 11897)', () => {
  it('delay is the RTO clamped to 0.2–1 s', () => {
    expect([retryDelayFor(3), retryDelayFor(350), retryDelayFor(5000), retryDelayFor(Number.NaN)]).toEqual([
      200, 350, 1000, 1000,
    ]);
  });

  it('samba policy: oldest channel first, then the next by channel id while the transport shows it unacked', () => {
    const { actor, clock, emitted } = run('samba', [
      { id: 3, rtoMs: 300 },
      { id: 1, rtoMs: 204 },
      { id: 2, rtoMs: 900 },
    ]);
    expect(emitted).toEqual([{ type: 'send', breakId: 'b1', channelId: 1, attempt: 1 }]);
    clock.increment(199);
    expect(emitted).toHaveLength(1);
    clock.increment(5); // 204 ms: channel 1's RTO
    expect(emitted.at(-1)).toEqual({ type: 'probe', breakId: 'b1', channelId: 1 });
    actor.send({ type: 'TRANSPORT_STATUS', channelId: 1, unacked: true });
    expect(emitted.at(-1)).toEqual({ type: 'send', breakId: 'b1', channelId: 2, attempt: 2 });
    clock.increment(900);
    actor.send({ type: 'TRANSPORT_STATUS', channelId: 2, unacked: false });
    expect(emitted.at(-1)).toEqual({ type: 'delivered', breakId: 'b1', channelId: 2 });
    expect(actor.getSnapshot().status).toBe('done');
  });

  it('gives up when every channel has been tried', () => {
    const { actor, clock, emitted } = run('samba', [
      { id: 1, rtoMs: 200 },
      { id: 2, rtoMs: 200 },
    ]);
    clock.increment(200);
    actor.send({ type: 'TRANSPORT_STATUS', channelId: 1, unacked: true });
    clock.increment(200);
    actor.send({ type: 'TRANSPORT_STATUS', channelId: 2, unacked: true });
    expect(emitted.at(-1)).toEqual({ type: 'gaveUp', breakId: 'b1', tried: [1, 2] });
  });

  it('windows policy: only the newest channel, no retry elsewhere', () => {
    const { actor, clock, emitted } = run('windows', [
      { id: 1, rtoMs: 200 },
      { id: 4, rtoMs: 200 },
    ]);
    expect(emitted[0]).toMatchObject({ type: 'send', channelId: 4 });
    clock.increment(200);
    actor.send({ type: 'TRANSPORT_STATUS', channelId: 4, unacked: true });
    expect(emitted.at(-1)).toEqual({ type: 'gaveUp', breakId: 'b1', tried: [4] });
  });

  it('an acknowledgment from the client ends it at once, and a vanished channel is skipped without waiting', () => {
    const a = run('samba', [
      { id: 1, rtoMs: 500 },
      { id: 2, rtoMs: 500 },
    ]);
    a.actor.send({ type: 'CHANNEL_GONE', channelId: 1 });
    expect(a.emitted.at(-1)).toMatchObject({ type: 'send', channelId: 2 });
    a.actor.send({ type: 'ACKED' });
    expect(a.emitted.at(-1)).toEqual({ type: 'delivered', breakId: 'b1', channelId: 2 });
    expect(run('samba', []).emitted).toEqual([{ type: 'gaveUp', breakId: 'b1', tried: [] }]);
  });

  it('a stale transport report for another channel is ignored', () => {
    const { actor, clock, emitted } = run('samba', [
      { id: 1, rtoMs: 200 },
      { id: 2, rtoMs: 200 },
    ]);
    clock.increment(200);
    actor.send({ type: 'TRANSPORT_STATUS', channelId: 2, unacked: true });
    expect(emitted.at(-1)).toMatchObject({ type: 'probe', channelId: 1 });
  });
});
