import { describe, expect, it } from 'vitest';
import { fromPromise } from 'xstate';
import { ClientRegistry, type NewChannel, type TeardownRequest } from '../../../statecharts/index.js';

const G1 = '11111111-1111-4111-8111-111111111111';
const PUBLIC = '10.213.0.101';

function chan(port: number): NewChannel {
  return {
    tuple: { localAddress: PUBLIC, localPort: 445, remoteAddress: '10.213.0.200', remotePort: port },
    transport: 'tcp',
    onPublicIp: true,
    createdAt: 0,
  };
}

function registryWith(carryOut: (r: TeardownRequest) => Promise<void>) {
  const requests: TeardownRequest[] = [];
  const reg = new ClientRegistry({
    now: () => 500,
    teardown: fromPromise<void, TeardownRequest>(({ input }) => {
      requests.push(input);
      return carryOut(input);
    }),
  });
  const gone = new Promise<void>((resolve) => reg.on('gone', () => resolve()));
  return { reg, requests, gone };
}

describe('the client machine carries out its own teardown', () => {
  it('invokes the teardown with the closed channels, the reason and the cause time; gone when it succeeds', async () => {
    const { reg, requests, gone } = registryWith(async () => {});
    reg.acceptChannel(G1, chan(1));
    reg.acceptChannel(G1, chan(2));
    reg.assignOwner(G1, { kind: 'worker', id: 'w1' });
    reg.releaseIp(PUBLIC, 123);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      clientGuid: G1,
      owner: { kind: 'worker', id: 'w1' },
      reason: { kind: 'release-ip', ip: PUBLIC },
      causedAt: 123,
    });
    expect(requests[0]!.channels.map((c) => [c.id, c.state])).toEqual([
      [1, 'closed'],
      [2, 'closed'],
    ]);
    await gone;
    expect(reg.has(G1)).toBe(false);
  });

  it('is gone as well when the teardown fails (a stuck client would refuse every reconnect)', async () => {
    const { reg, gone } = registryWith(() => Promise.reject(new Error('backend down')));
    reg.acceptChannel(G1, chan(1));
    reg.send(G1, { type: 'ADMIN_TEARDOWN' });
    expect(reg.view(G1)?.state).toBe('tearingDown');
    await gone;
    expect(reg.has(G1)).toBe(false);
  });

  it('an event sent without its cause time is stamped by the registry clock', () => {
    const { reg, requests } = registryWith(() => new Promise(() => {}));
    reg.acceptChannel(G1, chan(1));
    reg.send(G1, { type: 'DROP', toNode: 2 });
    expect(requests[0]?.causedAt).toBe(500);
    expect(reg.view(G1)?.context.teardownStartedAt).toBe(500);
  });
});
