import { EventEmitter, once } from 'node:events';
import { toWireEntry } from '../ifdiscovery/discovery.js';
import { discoveryConfigSchema, InterfaceDiscovery, PublicIpTracker } from '../ifdiscovery/index.js';
import { interfaceInfoPush } from '../wire/index.js';
import { b4Lines } from './b4-prose.js';
import { median, percentile, type Section } from './stats.js';

/**
 * B4: the discovery object mccd keeps, in this process, fed by a cluster view it subscribes to: queries
 * answered from the cached encoded list against encoding on every query, alternating per repeat, and the
 * time from a TAKE_IP/RELEASE_IP event to the updated answer.
 */
const EVENTS_PER_REPEAT = 200;
/** An update that is not done when the event handler returns is waited for this long, then counted missed. */
const LATE_UPDATE_WAIT_MS = 1000;

export async function b4(repeat: number): Promise<Section> {
  const view = Object.assign(new EventEmitter(), {
    kind: 'redis' as const,
    publicIps: async () => [{ address: '10.213.0.101', owner: 0 }],
  });
  const addresses = () => ({
    eth0: [0, 1, 2, 3].map((i) => ({
      address: `10.213.${i}.1`,
      family: 'IPv4' as const,
      internal: false,
      netmask: '255.255.255.0',
      mac: '',
      cidr: null,
    })),
    eth1: [
      {
        address: 'fd00::1',
        family: 'IPv6' as const,
        internal: false,
        netmask: 'ffff::',
        mac: '',
        cidr: null,
        scopeid: 0,
      },
    ],
  });
  const facts = () => ({ ifIndex: 2, speed: 25e9, up: true, rxQueues: 8, loopback: false });
  const tracker = new PublicIpTracker(view as never);
  const discovery = new InterfaceDiscovery(discoveryConfigSchema.parse({}), tracker, {
    addresses,
    facts,
    rdma: new Map(),
  });
  await tracker.start();
  discovery.start(3_600_000);
  const measure = (fn: () => unknown, ms: number) => {
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      for (let i = 0; i < 1000; i++) fn();
      n += 1000;
    }
    return n / ((performance.now() - t0) / 1000);
  };
  const cachedQps: number[] = [];
  const baseQps: number[] = [];
  const updateUs: number[] = [];
  let synchronous = 0;
  let missed = 0;
  for (let r = 0; r < repeat; r++) {
    cachedQps.push(measure(() => discovery.answerFor('10.213.0.1'), 1000));
    baseQps.push(measure(() => interfaceInfoPush(discovery.current().announced.map(toWireEntry)), 1000));
    for (let i = 0; i < EVENTS_PER_REPEAT; i++) {
      const t0 = performance.now();
      let updatedAt: number | undefined;
      const late = once(discovery, 'updated', { signal: AbortSignal.timeout(LATE_UPDATE_WAIT_MS) }).then(
        () => performance.now(),
        () => undefined,
      );
      discovery.once('updated', () => {
        updatedAt = performance.now();
      });
      view.emit('event', {
        type: i % 2 ? 'ip-taken' : 'ip-released',
        ip: '10.213.0.101',
        pnn: 0,
        at: Date.now(),
      });
      if (updatedAt !== undefined) {
        synchronous++;
        updateUs.push((updatedAt - t0) * 1000);
        continue;
      }
      const lateAt = await late;
      if (lateAt === undefined) missed++;
      else updateUs.push((lateAt - t0) * 1000);
    }
  }
  discovery.stop();
  tracker.stop();
  return {
    title: `B4 interface discovery (median of ${repeat} runs of 1 s; 5 addresses, 1 public)`,
    lines: b4Lines({
      cachedQps: median(cachedQps),
      encodeEveryQueryQps: median(baseQps),
      events: repeat * EVENTS_PER_REPEAT,
      synchronous,
      missed,
      lateWaitMs: LATE_UPDATE_WAIT_MS,
      updateP50Us: percentile(updateUs, 50),
      updateP99Us: percentile(updateUs, 99),
    }),
  };
}
