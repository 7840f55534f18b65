import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { containerEngineReason } from '../../harness/container-engine.js';
import { MCC_CLI, MCC_DIR, SystemdBox } from '../../harness/container-systemd.js';
import { waitFor } from '../../harness/netns.js';
import { overallExposure, shownSandbox, unitSandbox } from '../../harness/unit-sandbox.js';
import { projectRoot } from '../../helpers/reference.js';
import { describePeer } from '../../helpers/skip.js';

/**
 * deploy/systemd/mccd.service under real systemd: a container boots systemd 252 as PID 1, the repo's
 * mccd.service and mccd.socket are installed unchanged, and mccd runs with the worker backend (the
 * reference worker a unit of its own), then with the smbd backend and deploy/systemd/smbd-backend.conf.
 * Real clients (`mcc probe`, smbclient) run in the container outside the units. What is asserted is
 * what systemd applied (`systemctl show`) and what the kernel says of mccd's process (/proc/PID/status:
 * capability sets, no_new_privs, seccomp), and that mccd does its work under it.
 */
const UNIT = readFileSync(join(projectRoot, 'deploy/systemd/mccd.service'), 'utf8');
const DROP_IN_DIR = '/etc/systemd/system/mccd.service.d';
const GUID = '5a4db0c5-0000-4000-8000-00000000a001';
// CAP_NET_BIND_SERVICE (10) and CAP_NET_ADMIN (12), as /proc/PID/status prints capability sets.
const NET_CAPS = '0000000000001400';
const PUBLIC_IP = '10.99.0.1';

const workerConfig = [
  'listen:',
  '  - address: 0.0.0.0',
  '    port: 445',
  'cluster:',
  '  backend: single-node',
  'backend:',
  '  kind: worker',
  '  socket: /run/mcc/workers.sock',
  'api:',
  '  socket: /run/mcc/mccd.sock',
  '',
].join('\n');

const smbdConfig = workerConfig.replace(
  /backend:\n {2}kind: worker\n {2}socket: \/run\/mcc\/workers\.sock\n/,
  'backend:\n  kind: smbd\n  config: /etc/samba/smb.conf\n  pool:\n    size: 2\n',
);

// Debian's own state, cache and log directories (nothing set): the drop-in must allow what a stock smbd
// writes. The share is in a home directory, which the worker unit's ProtectHome hides.
const smbConf = [
  '[global]',
  '\tserver role = standalone server',
  '\tdisable netbios = yes',
  '\tsmb ports = 445',
  '\tserver multi channel support = yes',
  '\tserver min protocol = SMB2_02',
  '\tload printers = no',
  '\tprintcap name = /dev/null',
  '\tmap to guest = never',
  '[share]',
  '\tpath = /home/alice/share',
  '\tread only = no',
  '',
].join('\n');

interface ProbeEvent {
  event: string;
  channel?: number;
  dialect?: number;
  code?: string;
}

describePeer('systemd sandbox: deploy/systemd units under systemd as PID 1', containerEngineReason(), () => {
  let box: SystemdBox;
  let probes = 0;

  beforeAll(async () => {
    box = await SystemdBox.boot();
    // The image's own Samba units would take port 445 once an smb.conf exists: mccd owns it here.
    await box.sh('systemctl mask --now smbd.service nmbd.service samba-ad-dc.service winbind.service');
    await box.sh(
      `install -m 0644 ${MCC_DIR}/deploy/systemd/mccd.service ${MCC_DIR}/deploy/systemd/mccd.socket /etc/systemd/system/`,
    );
    await box.writeFile('/etc/mcc/mccd.yaml', workerConfig);
    await box.sh('systemctl daemon-reload && systemctl start mccd.socket mccd.service');
    // Type=simple: "started" is the exec; the worker socket exists once mccd answers on its API.
    await waitFor('mccd answering on its API socket', 30_000, async () => (await status()) && true);
    // The reference worker, a unit of its own beside mccd's (it connects to /run/mcc/workers.sock).
    await box.sh(
      `systemd-run --unit=mcc-worker --property=Restart=on-failure --property=RestartSec=500ms ${MCC_CLI} worker --id sd-worker`,
    );
    await waitWorker().catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await diagnose()}`);
    });
  }, 180_000);

  afterAll(async () => {
    await box?.stop();
  }, 60_000);

  async function status(): Promise<{
    mode: { kind: string };
    clusterConnected: boolean;
    publicIps: string[];
    backend: { workers?: { id: string }[]; pool?: { ready: number } };
  }> {
    return JSON.parse(await box.sh(`${MCC_CLI} status --json`));
  }

  /** What systemd says of the units, for a failure's message. */
  async function diagnose(): Promise<string> {
    const r = await box.exec([
      'sh',
      '-c',
      'systemctl status --no-pager mccd.socket mccd.service mcc-worker.service; journalctl --no-pager -n 60 -o short',
    ]);
    return (r.stdout + r.stderr).slice(-6000);
  }

  async function waitWorker(): Promise<void> {
    await waitFor('the reference worker registered with mccd', 30_000, async () =>
      (await status()).backend.workers?.some((w) => w.id === 'sd-worker') ? true : undefined,
    );
  }

  async function restartMccd(): Promise<void> {
    await box.sh('systemctl daemon-reload && systemctl restart mccd.service');
    await waitFor('mccd answering on its API socket', 30_000, async () => (await status()) && true);
  }

  /** `mcc probe` in the container (outside the units): two NEGOTIATE-only channels with GUID, held. */
  async function probe(guid: string, server = '127.0.0.1'): Promise<() => Promise<ProbeEvent[]>> {
    const out = `/tmp/probe-${probes++}.out`;
    await box.sh(
      `setsid timeout 60 ${MCC_CLI} probe --to ${server}:445,${server}:445 --guid ${guid} >${out} 2>&1 </dev/null &`,
    );
    const events = async () =>
      (await box.sh(`cat ${out}`))
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as ProbeEvent);
    await waitFor('both probe channels negotiated', 20_000, async () =>
      (await events()).filter((e) => e.event === 'negotiated').length === 2 ? true : undefined,
    );
    return events;
  }

  /** Until the probe has seen both its channels closed. */
  async function allClosed(events: () => Promise<ProbeEvent[]>, timeoutMs = 10_000): Promise<void> {
    await waitFor('the probe to see both channels close', timeoutMs, async () =>
      (await events()).some((e) => e.event === 'all-closed') ? true : undefined,
    );
  }

  /** Until mccd's journal after `mark` matches (journald takes the lines from its stdout a little later). */
  async function journalShows(mark: number, pattern: RegExp): Promise<void> {
    let seen = '';
    await waitFor(`mccd's journal to show ${pattern}`, 10_000, async () => {
      seen = await box.journal('mccd.service', mark);
      return pattern.test(seen) ? true : undefined;
    }).catch((error: Error) => {
      throw new Error(`${error.message}; it shows:\n${seen.slice(-3000)}`);
    });
  }

  async function releaseLoopback(): Promise<void> {
    const r = await box.sh(
      `curl -s --max-time 5 --unix-socket /run/mcc/mccd.sock -H 'Content-Type: application/json' --data '{"event":"releaseip","args":["lo","127.0.0.1","8"]}' http://mccd/v1/ctdb/event`,
    );
    expect(r).toContain('"accepted":"releaseip"');
  }

  it('mccd runs under the unit as written: systemctl show and the kernel agree', async () => {
    const expected = unitSandbox(UNIT);
    expect(Object.keys(expected).length).toBeGreaterThan(20);
    const keys = Object.keys(expected);
    expect(shownSandbox(await box.show('mccd.service', keys), keys)).toEqual(expected);
    const pid = await box.mainPid('mccd.service');
    const proc = await box.procStatus(pid);
    expect(proc.CapBnd).toBe(NET_CAPS);
    expect(proc.CapEff).toBe(NET_CAPS);
    expect(proc.CapAmb).toBe('0000000000000000');
    expect(proc.NoNewPrivs).toBe('1');
    expect(proc.Seccomp).toBe('2');
    // ProtectSystem=strict in mccd's own mount namespace: /etc read-only, /run/mcc writable.
    const ro = await box.exec(['nsenter', '-t', String(pid), '-m', 'touch', '/etc/mcc/written-by-mccd']);
    expect(ro.code).not.toBe(0);
    expect(ro.stderr).toMatch(/Read-only file system/);
    await box.sh(`nsenter -t ${pid} -m sh -c 'touch /run/mcc/probe-write && rm /run/mcc/probe-write'`);
    // The same rating as the repo's file, now from the running manager's view of the unit.
    const online = overallExposure(await box.sh('systemd-analyze security --no-pager mccd.service'));
    expect(online).toBeLessThanOrEqual(3.5);
  });

  it("a client's NEGOTIATE is served through the worker; mcc status, channels and teardown over the API socket", async () => {
    const events = await probe(GUID);
    expect((await events()).find((e) => e.event === 'negotiated')?.dialect).toBe(0x311);
    const s = await status();
    expect(s.backend.workers?.map((w) => w.id)).toEqual(['sd-worker']);
    const channels = await box.sh(`${MCC_CLI} channels`);
    expect(
      channels.split('\n').filter((l) => l.includes(GUID) && l.includes('worker:sd-worker')),
    ).toHaveLength(2);
    const mark = await box.journalMark('mccd.service');
    await box.sh(`${MCC_CLI} teardown ${GUID}`);
    await allClosed(events);
    await journalShows(mark, /"reason":\{"kind":"admin".*client torn down: 2 channel\(s\)/);
  });

  it('RELEASE_IP resets the channels at once with SOCK_DESTROY (CAP_NET_ADMIN)', async () => {
    const events = await probe('5a4db0c5-0000-4000-8000-00000000a002');
    const mark = await box.journalMark('mccd.service');
    await releaseLoopback();
    await allClosed(events);
    // The kernel reset them (the worker would have closed them with a FIN).
    expect((await events()).filter((e) => e.code === 'ECONNRESET')).toHaveLength(2);
    await journalShows(mark, /SOCK_DESTROY reset 2 channel\(s\) at once/);
    // Nothing mccd did so far ran into the system call filter or a missing capability.
    expect(await box.journal('mccd.service')).not.toMatch(/EPERM|EACCES|not permitted|Permission denied/);
  });

  it('without CAP_NET_ADMIN in the bounding set SOCK_DESTROY is refused, and the log says so', async () => {
    await box.writeFile(
      `${DROP_IN_DIR}/no-net-admin.conf`,
      '[Service]\nCapabilityBoundingSet=\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\n',
    );
    try {
      await restartMccd();
      expect((await box.procStatus(await box.mainPid('mccd.service'))).CapBnd).toBe('0000000000000400');
      await waitWorker();
      const events = await probe('5a4db0c5-0000-4000-8000-00000000a003');
      const mark = await box.journalMark('mccd.service');
      await releaseLoopback();
      await allClosed(events);
      // The worker closed them on mccd's order instead: a FIN, no reset.
      expect((await events()).filter((e) => e.code === 'ECONNRESET')).toHaveLength(0);
      await journalShows(mark, /SOCK_DESTROY refused: errno 1; owners close them/);
    } finally {
      await box.sh(`rm -f ${DROP_IN_DIR}/no-net-admin.conf`);
      await restartMccd();
    }
  }, 90_000);

  it("with ctdbd on the node: mccd reaches ctdbd's socket, knows the public IP, and follows its release", async () => {
    // Debian's own ctdb.service, one node; the public IP on a veth (this kernel has no dummy links).
    await box.sh(
      [
        'echo 127.0.0.1 > /etc/ctdb/nodes',
        "printf '[legacy]\\n\\trealtime scheduling = false\\n' >> /etc/ctdb/ctdb.conf",
        'ip link add mc0 type veth peer name mc1 && ip link set mc0 up && ip link set mc1 up',
        `echo '${PUBLIC_IP}/24 mc0' > /etc/ctdb/public_addresses`,
        'systemctl start ctdb.service',
      ].join(' && '),
    );
    try {
      await waitFor('ctdbd to host the public IP', 90_000, async () =>
        (await box.sh('ctdb -X ip')).includes(`|${PUBLIC_IP}|0|`) ? true : undefined,
      );
      await box.writeFile(
        '/etc/mcc/mccd.yaml',
        workerConfig.replace('backend: single-node', 'backend: ctdbd'),
      );
      await restartMccd();
      await waitFor('mccd connected to ctdbd, with its public IP', 20_000, async () => {
        const s = await status();
        return s.mode.kind === 'ctdbd' && s.clusterConnected && s.publicIps.includes(PUBLIC_IP)
          ? true
          : undefined;
      });
      await waitWorker();
      const guid = '5a4db0c5-0000-4000-8000-00000000a004';
      const events = await probe(guid, PUBLIC_IP);
      const rows = (await box.sh(`${MCC_CLI} channels`)).split('\n').filter((l) => l.includes(guid));
      expect(rows).toHaveLength(2);
      for (const row of rows) expect(row).toMatch(/\syes\s+worker:sd-worker/);
      const mark = await box.journalMark('mccd.service');
      // ctdbd releases every IP of a disabled node: its 10.interface resets the connections, and mccd
      // gets RELEASE_IP from ctdbd itself (09.mcc.script is not installed here).
      await box.sh('ctdb disable');
      await allClosed(events, 20_000);
      await journalShows(mark, new RegExp(`RELEASE_IP ${PUBLIC_IP.replaceAll('.', '\\.')}`));
      await waitFor('the client gone from mccd', 20_000, async () =>
        (await box.sh(`${MCC_CLI} clients --json`)).includes(guid) ? undefined : true,
      );
    } finally {
      await box.sh('systemctl stop ctdb.service; ip link del mc0 2>/dev/null; true', 60_000);
    }
  }, 180_000);

  it('the smbd backend does not start under the worker sandbox alone', async () => {
    await box.writeFile('/etc/samba/smb.conf', smbConf);
    await box.sh(
      'useradd -m alice && install -d -o alice -m 0755 /home/alice/share && ' +
        "printf 'pw-alice\\npw-alice\\n' | smbpasswd -a -s alice >/dev/null",
    );
    await box.writeFile('/etc/mcc/mccd.yaml', smbdConfig);
    await box.sh('systemctl stop mcc-worker.service');
    const mark = await box.journalMark('mccd.service');
    await restartMccd();
    await journalShows(mark, /smbd zygote \d+ exited before it was ready/);
    const ls = await box.exec([
      'smbclient',
      '//127.0.0.1/share',
      '-U',
      'alice%pw-alice',
      '-m',
      'SMB3_11',
      '-c',
      'ls',
    ]);
    expect(ls.code).not.toBe(0);
  }, 90_000);

  it('with deploy/systemd/smbd-backend.conf smbclient lists and writes a share through mccd and smbd', async () => {
    await box.sh(
      `install -D -m 0644 ${MCC_DIR}/deploy/systemd/smbd-backend.conf ${DROP_IN_DIR}/smbd-backend.conf`,
    );
    await restartMccd();
    await waitFor('both smbd pool members ready', 60_000, async () =>
      ((await status()).backend.pool?.ready ?? 0) >= 2 ? true : undefined,
    );
    const shown = await box.show('mccd.service', [
      'CapabilityBoundingSet',
      'NoNewPrivileges',
      'ProtectHome',
      'ProtectSystem',
    ]);
    expect(shown.CapabilityBoundingSet?.split(' ')).toEqual(
      expect.arrayContaining(['cap_setuid', 'cap_setgid']),
    );
    expect(shown).toMatchObject({ NoNewPrivileges: 'no', ProtectHome: 'no', ProtectSystem: 'full' });
    const proc = await box.procStatus(await box.mainPid('mccd.service'));
    expect(proc.NoNewPrivs).toBe('0');
    expect(proc.Seccomp).toBe('2');

    const list = await box.exec(['smbclient', '-L', '//127.0.0.1', '-U', 'alice%pw-alice', '-m', 'SMB3_11']);
    expect(list.code, list.stdout + list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^\s+share\s+Disk/m);
    await box.writeFile('/tmp/up.txt', 'through mccd under systemd\n');
    const put = await box.exec([
      'smbclient',
      '//127.0.0.1/share',
      '-U',
      'alice%pw-alice',
      '-m',
      'SMB3_11',
      '-c',
      'put /tmp/up.txt up.txt',
    ]);
    expect(put.code, put.stdout + put.stderr).toBe(0);
    // smbd switched to alice (CAP_SETUID/CAP_SETGID) to write it in her home directory.
    expect((await box.sh('stat -c %U:%s /home/alice/share/up.txt')).trim()).toBe('alice:27');
    const online = overallExposure(await box.sh('systemd-analyze security --no-pager mccd.service'));
    expect(online).toBeGreaterThan(3.5);
    expect(online).toBeLessThan(5);
  }, 120_000);
});
