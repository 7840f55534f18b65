import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { NetworkInterfaceInfo as OsAddress } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ClusterEvent, ClusterView, PublicIp } from '../../../ctdb/cluster-view.js';
import {
  discoveryConfigSchema,
  enumerateLocalAddresses,
  InterfaceDiscovery,
  linkFacts,
  PublicIpTracker,
  parseInterfacesLine,
  smbConfInterfacesLine,
} from '../../../ifdiscovery/index.js';
import { interfaceInfoPull, unwrap } from '../../../wire/index.js';
import { referenceText } from '../../helpers/reference.js';

const root = mkdtempSync(join(tmpdir(), 'mcc-sysfs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function link(
  name: string,
  opts: { ifindex: number; speed?: string; flags?: string; operstate?: string; rx?: number },
) {
  const d = join(root, 'class/net', name);
  mkdirSync(join(d, 'queues'), { recursive: true });
  writeFileSync(join(d, 'ifindex'), `${opts.ifindex}\n`);
  if (opts.speed !== undefined) writeFileSync(join(d, 'speed'), `${opts.speed}\n`);
  writeFileSync(join(d, 'flags'), `${opts.flags ?? '0x1003'}\n`);
  writeFileSync(join(d, 'operstate'), `${opts.operstate ?? 'up'}\n`);
  for (let i = 0; i < (opts.rx ?? 1); i++) mkdirSync(join(d, 'queues', `rx-${i}`), { recursive: true });
}
link('lo', { ifindex: 1, flags: '0x9', operstate: 'unknown' });
link('eth0', { ifindex: 2, speed: '10000', rx: 4 });
link('eth1', { ifindex: 3, speed: '-1' });
link('eth2', { ifindex: 4, speed: '1000', flags: '0x1002', operstate: 'down' });
mkdirSync(join(root, 'class/infiniband/rxe0/ports/1/gid_attrs/ndevs'), { recursive: true });
writeFileSync(join(root, 'class/infiniband/rxe0/ports/1/gid_attrs/ndevs/0'), 'eth1\n');

const v4 = (address: string, internal = false): OsAddress => ({
  address,
  family: 'IPv4',
  internal,
  netmask: '255.255.255.0',
  mac: '',
  cidr: null,
});
const v6 = (address: string, internal = false): OsAddress =>
  ({
    address,
    family: 'IPv6',
    internal,
    netmask: 'ffff:ffff:ffff:ffff::',
    mac: '',
    cidr: null,
    scopeid: 0,
  }) as OsAddress;
const addresses = () => ({
  lo: [v4('127.0.0.1', true), v6('::1', true)],
  eth0: [v4('10.213.0.1'), v4('10.213.0.101'), v6('fe80::1'), v6('FD00:0:0::1')],
  eth1: [v4('169.254.3.3'), v4('10.214.0.1')],
  eth2: [v4('10.215.0.1')],
});
const config = (over: object = {}) => discoveryConfigSchema.parse({ sysfsRoot: root, ...over });

describe('sysfs facts', () => {
  it('reads index, speed in bits/s, up/down, RSS queues and loopback', () => {
    expect(linkFacts('eth0', root)).toEqual({
      ifIndex: 2,
      speed: 10_000_000_000,
      up: true,
      rxQueues: 4,
      loopback: false,
    });
    expect(linkFacts('eth1', root).speed).toBeUndefined();
    expect(linkFacts('eth2', root).up).toBe(false);
    expect(linkFacts('lo', root).loopback).toBe(true);
    expect(linkFacts('nope', root)).toEqual({
      ifIndex: undefined,
      speed: undefined,
      up: false,
      rxQueues: 0,
      loopback: false,
    });
  });
});

describe('enumeration', () => {
  it('keeps up, non-link-local, non-loopback addresses with speed, RSS and RDMA', () => {
    const list = enumerateLocalAddresses(config(), { addresses });
    expect(list.map((a) => [a.interfaceName, a.address, a.speed, a.rss, a.rdma])).toEqual([
      ['eth0', '10.213.0.1', 10e9, true, false],
      ['eth0', '10.213.0.101', 10e9, true, false],
      ['eth0', 'fd00::1', 10e9, true, false],
      ['eth1', '10.214.0.1', 1e9, false, true],
    ]);
  });

  it('applies loopback, include/exclude, excluded addresses and per-interface overrides', () => {
    const list = enumerateLocalAddresses(
      config({
        includeLoopback: true,
        exclude: ['eth1'],
        excludeAddresses: ['fd00::1'],
        overrides: { eth0: { speed: 25e9, rdma: true, ifIndex: 77 }, lo: { rss: true } },
      }),
      { addresses },
    );
    expect(list.map((a) => [a.ifIndex, a.address, a.speed, a.rss, a.rdma])).toEqual([
      [1, '127.0.0.1', 1e9, true, false],
      [1, '::1', 1e9, true, false],
      [77, '10.213.0.1', 25e9, true, true],
      [77, '10.213.0.101', 25e9, true, true],
    ]);
    expect(
      enumerateLocalAddresses(config({ include: ['eth1'] }), { addresses }).map((a) => a.address),
    ).toEqual(['10.214.0.1']);
  });

  it('config errors name the key and the expectation', () => {
    const r = discoveryConfigSchema.safeParse({ overrides: { eth0: { speed: -5 } }, defaultSpeed: 'fast' });
    expect(r.success).toBe(false);
    const paths = r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['overrides.eth0.speed', 'defaultSpeed']));
  });
});

/** Only what PublicIpTracker uses of a ClusterView; the real ones are proven in test/peers/ctdb. */
class FakeView extends EventEmitter {
  readonly kind = 'redis' as const;
  ips: PublicIp[] = [];
  async publicIps() {
    return this.ips;
  }
  fire(e: ClusterEvent) {
    this.emit('event', e);
  }
}

describe('public IP filtering', () => {
  it('announces nothing until the cluster list is read, then never a public IP, and the set never shrinks', async () => {
    const view = new FakeView();
    view.ips = [{ address: '10.213.0.101', owner: 0 }];
    const tracker = new PublicIpTracker(view as unknown as ClusterView);
    const discovery = new InterfaceDiscovery(config(), tracker, { addresses });
    expect(discovery.current().announced).toEqual([]);
    expect(discovery.current().clusterKnown).toBe(false);
    const updates: (number | undefined)[] = [];
    discovery.on('updated', (u) => updates.push(u.latencyMs));
    discovery.start(60_000);
    await tracker.start();
    expect(discovery.current().announced.map((a) => a.address)).toEqual([
      '10.213.0.1',
      'fd00::1',
      '10.214.0.1',
    ]);
    expect(discovery.current().publicFiltered).toEqual(['10.213.0.101']);
    // A public IP another node hosts, learnt from TAKE_IP, is filtered from then on.
    view.fire({ type: 'ip-taken', ip: '10.214.0.1', pnn: 0, at: Date.now() });
    expect(discovery.current().announced.map((a) => a.address)).toEqual(['10.213.0.1', 'fd00::1']);
    view.ips = [];
    view.fire({ type: 'reconfigured', at: Date.now() });
    await new Promise((r) => setTimeout(r, 5));
    expect(tracker.has('10.213.0.101')).toBe(true);
    expect(updates.at(-1)).toBeGreaterThanOrEqual(0);
    discovery.stop();
    tracker.stop();
  });

  it('the encoded answer decodes to the announced list; the requester address is added when asked on it and so configured', () => {
    const tracker = new PublicIpTracker(undefined, ['10.213.0.101']);
    const discovery = new InterfaceDiscovery(config({ includeRequesterAddress: true }), tracker, {
      addresses,
    });
    const base = unwrap(interfaceInfoPull(discovery.answerFor()));
    expect(base.map((e) => e.address)).toEqual(['10.213.0.1', 'fd00::1', '10.214.0.1']);
    const onPublic = unwrap(interfaceInfoPull(discovery.answerFor('::ffff:10.213.0.101')));
    expect(onPublic.map((e) => e.address)).toEqual(['10.213.0.1', 'fd00::1', '10.214.0.1', '10.213.0.101']);
    expect(discovery.answerFor('10.213.0.1')).toBe(discovery.current().encoded);
    // The default: a public IP is never announced, not even to a client that arrived on it.
    const off = new InterfaceDiscovery(config(), tracker, { addresses });
    expect(unwrap(interfaceInfoPull(off.answerFor('10.213.0.101'))).map((e) => e.address)).not.toContain(
      '10.213.0.101',
    );
  });
});

describe('interface list refresh failing', () => {
  it('keeps the last list when enumerating fails (EMFILE), instead of throwing out of a timer', () => {
    const tracker = new PublicIpTracker(undefined, ['10.213.0.101']);
    let fail = false;
    const flaky = () => {
      if (fail)
        throw Object.assign(new Error('uv_interface_addresses returned Unknown system error 24'), {
          errno: 24,
        });
      return addresses();
    };
    const discovery = new InterfaceDiscovery(config(), tracker, { addresses: flaky });
    const before = discovery.current();
    const failures: string[] = [];
    discovery.on('refresh-failed', (f) => failures.push(`${f.trigger}: ${f.error.message}`));
    fail = true;
    expect(() => discovery.refresh('timer')).not.toThrow();
    expect(discovery.current().announced).toEqual(before.announced);
    expect(failures).toEqual(['timer: uv_interface_addresses returned Unknown system error 24']);
  });
});

describe('smb.conf interfaces line', () => {
  it("quotes one entry per address, reversed so smbd announces mcc's order, and parses back", () => {
    const list = enumerateLocalAddresses(config(), { addresses }).filter((a) => a.address !== '10.213.0.101');
    const line = smbConfInterfacesLine(list);
    expect(line).toBe(
      'interfaces = "10.214.0.1;speed=1000000000,capability=RDMA,if_index=3" "fd00::1;speed=10000000000,capability=RSS,if_index=2" "10.213.0.1;speed=10000000000,capability=RSS,if_index=2"',
    );
    expect(parseInterfacesLine(line).map((e) => e.target)).toEqual(['10.214.0.1', 'fd00::1', '10.213.0.1']);
  });

  it('parses the reference smb.conf line', () => {
    const line = referenceText('smb.conf.standalone')
      .split('\n')
      .find((l) => /^\s*interfaces\s*=/.test(l))!;
    expect(parseInterfacesLine(line.trim())).toEqual([
      { target: 'lo', speed: 10e9, rss: true, rdma: false },
      { target: 'mc0', speed: 25e9, rss: true, rdma: true },
      { target: 'mc1', speed: 1e9, rss: false, rdma: false, ifIndex: 77 },
    ]);
  });
});
