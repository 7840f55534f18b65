import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { ClientRegistry, type ClientView } from '../../statecharts/index.js';
import { RUNS } from './arbitraries.js';

/**
 * Any interleaving of channel arrivals, closes, RELEASE_IPs, DROPs, owner assignments, cluster loss and
 * time keeps the invariants: no channel outlives its client's teardown; a client never spans two owners;
 * a RELEASE_IP of an address in use leaves the affected clients without channels and every other client
 * untouched; a snapshot restores to identical state.
 */
const GUIDS = ['a', 'b', 'c', 'd'].map(
  (c) => `${c.repeat(8)}-${c.repeat(4)}-4${c.repeat(3)}-8${c.repeat(3)}-${c.repeat(12)}`,
);
const IPS = ['10.213.0.101', '10.213.0.102', '10.213.0.1'];
const PUBLIC = new Set(IPS.slice(0, 2));

type Step =
  | { kind: 'accept'; guid: number; ip: number; port: number }
  | { kind: 'close'; guid: number; pick: number }
  | {
      kind: 'step';
      guid: number;
      pick: number;
      event: 'HANDED_OFF' | 'BOUND' | 'ACTIVATED' | 'FAILING' | 'RECOVERED';
    }
  | { kind: 'release'; ip: number }
  | { kind: 'drop'; guid: number }
  | { kind: 'owner'; guid: number; owner: number }
  | { kind: 'done'; guid: number }
  | { kind: 'clusterLost' }
  | { kind: 'tick'; ms: number }
  | { kind: 'snapshot' };

const g = fc.nat({ max: GUIDS.length - 1 });
const arbStep: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('accept' as const),
      guid: g,
      ip: fc.nat({ max: 2 }),
      port: fc.integer({ min: 1024, max: 65535 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('close' as const), guid: g, pick: fc.nat({ max: 40 }) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('step' as const),
      guid: g,
      pick: fc.nat({ max: 40 }),
      event: fc.constantFrom(
        'HANDED_OFF' as const,
        'BOUND' as const,
        'ACTIVATED' as const,
        'FAILING' as const,
        'RECOVERED' as const,
      ),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('release' as const), ip: fc.nat({ max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), guid: g }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('owner' as const), guid: g, owner: fc.nat({ max: 2 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('done' as const), guid: g }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clusterLost' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 6000 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'snapshot' as const }) },
);

function views(reg: ClientRegistry): Map<string, ClientView> {
  return new Map([...reg.views()].map((v) => [v.clientGuid, structuredClone(v)]));
}

async function settle(): Promise<void> {
  // 'gone' clients leave the registry in a microtask.
  await Promise.resolve();
  await Promise.resolve();
}

describe('client registry invariants under any interleaving', () => {
  it('hold for random command sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(arbStep, { minLength: 1, maxLength: 60 }), async (steps) => {
        const clock = new SimulatedClock();
        const reg = new ClientRegistry({ clock, teardownTimeoutMs: 5000 });
        /** First owner each live client got: it must never change while the client lives. */
        const firstOwner = new Map<string, string>();
        reg.on('gone', (v) => firstOwner.delete(v.clientGuid));

        for (const step of steps) {
          const guid = 'guid' in step ? GUIDS[step.guid]! : '';
          const before = views(reg);
          switch (step.kind) {
            case 'accept': {
              const ip = IPS[step.ip]!;
              const r = reg.acceptChannel(guid, {
                tuple: {
                  localAddress: ip,
                  localPort: 445,
                  remoteAddress: '10.213.0.200',
                  remotePort: step.port,
                },
                transport: 'tcp',
                onPublicIp: PUBLIC.has(ip),
                createdAt: 0,
              });
              const v = reg.view(guid)!;
              if (!r.accepted) expect(r.reason === 'channel-limit' || v.state === 'tearingDown').toBe(true);
              break;
            }
            case 'close': {
              const chans = reg.view(guid)?.context.channels ?? [];
              if (chans.length > 0)
                reg.send(guid, { type: 'CHANNEL_CLOSED', channelId: chans[step.pick % chans.length]!.id });
              break;
            }
            case 'step': {
              const chans = reg.view(guid)?.context.channels ?? [];
              if (chans.length > 0)
                reg.send(guid, {
                  type: 'CHANNEL_EVENT',
                  channelId: chans[step.pick % chans.length]!.id,
                  event: step.event,
                });
              break;
            }
            case 'release': {
              const ip = IPS[step.ip]!;
              // A channel on the IP now, or one lost on it within the last minute (all of this run).
              const using = new Set(
                [...before.values()]
                  .filter(
                    (v) =>
                      v.context.channels.some((c) => c.tuple.localAddress === ip) ||
                      (v.context.channels.length > 0 &&
                        (v.context.lostPublicIps ?? []).some((l) => l.ip === ip)),
                  )
                  .map((v) => v.clientGuid),
              );
              const affected = reg.releaseIp(ip);
              expect(new Set(affected)).toEqual(using);
              for (const guidAffected of affected) {
                const v = reg.view(guidAffected)!;
                expect(v.context.channels).toEqual([]);
                expect(v.state).toBe('tearingDown');
              }
              for (const [other, v] of before) if (!using.has(other)) expect(reg.view(other)).toEqual(v);
              break;
            }
            case 'drop':
              reg.send(guid, { type: 'DROP', toNode: 2 });
              break;
            case 'owner': {
              const ownerId = `w${step.owner}`;
              if (reg.has(guid)) {
                const tearingDown = reg.view(guid)!.state === 'tearingDown';
                const ok = reg.assignOwner(guid, { kind: 'worker', id: ownerId });
                const first = firstOwner.get(guid);
                if (ok && !first) firstOwner.set(guid, ownerId);
                // A live client keeps its first owner; one being torn down takes no new owner.
                expect(ok).toBe(first === ownerId || (first === undefined && !tearingDown));
              }
              break;
            }
            case 'done':
              reg.send(guid, { type: 'TEARDOWN_DONE' });
              break;
            case 'clusterLost':
              reg.clusterLost();
              break;
            case 'tick':
              clock.increment(step.ms);
              break;
            case 'snapshot': {
              const restored = new ClientRegistry({ clock: new SimulatedClock(), teardownTimeoutMs: 5000 });
              restored.restore(JSON.parse(JSON.stringify(reg.snapshot())));
              expect(views(restored)).toEqual(views(reg));
              restored.stopAll();
              break;
            }
          }
          await settle();
          for (const v of reg.views()) {
            // No channel outlives its client's teardown.
            if (v.state === 'tearingDown' || v.state === 'gone') expect(v.context.channels).toEqual([]);
            // One owner per client, ids unique and ascending.
            if (firstOwner.has(v.clientGuid)) expect(v.context.owner?.id).toBe(firstOwner.get(v.clientGuid));
            const ids = v.context.channels.map((c) => c.id);
            expect(ids).toEqual([...ids].sort((a, b) => a - b));
            expect(new Set(ids).size).toBe(ids.length);
            expect(v.context.channels.length).toBeLessThanOrEqual(32);
          }
        }
        reg.stopAll();
      }),
      { numRuns: Math.max(200, Math.floor(RUNS / 10)) },
    );
  });
});
