import { afterEach, describe, expect, it } from 'vitest';
import { FrontDoor, type FrontDoorOptions } from '../../../coordinator/front-door.js';
import { openFdCount } from '../../../native/index.js';

/** The front door's listening sockets: several queues per address, and never a port shared by mistake. */
const doors: FrontDoor[] = [];
afterEach(async () => {
  for (const d of doors.splice(0)) await d.stop();
});

function door(port: number, acceptQueues: number): FrontDoor {
  const options: FrontDoorOptions = {
    listen: [{ address: '127.0.0.1', port }],
    timeoutMs: 1000,
    maxBytes: 65536,
    maxPending: 100,
    maxPendingPerAddress: 100,
    acceptQueues,
  };
  const d = new FrontDoor(options);
  doors.push(d);
  return d;
}

describe('front door listeners', () => {
  it('opens acceptQueues sockets on one address and lists the address once', async () => {
    const before = openFdCount();
    const d = door(0, 4);
    await d.start();
    expect(d.addresses()).toHaveLength(1);
    expect(openFdCount() - before).toBeGreaterThanOrEqual(4);
    await d.stop();
    expect(openFdCount()).toBe(before);
  });

  it('refuses to join a port another process (or front door) already serves, with or without SO_REUSEPORT', async () => {
    const first = door(0, 4);
    await first.start();
    const port = first.addresses()[0]!.port;
    const before = openFdCount();
    await expect(door(port, 4).start()).rejects.toThrow(/already served by another process.*another mccd/);
    expect(openFdCount()).toBe(before);
    await expect(door(port, 1).start()).rejects.toThrow(/EADDRINUSE|in use/);
  });
});
