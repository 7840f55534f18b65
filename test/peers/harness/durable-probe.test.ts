import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { guidFromBytes } from '../../../wire/guid.js';
import { deleteNamespace, ip, lineSplitter, nsPids, pidAlive, runTag, waitFor } from '../../harness/netns.js';
import { SmbdInstance } from '../../harness/smbd.js';
import { projectRoot } from '../../helpers/reference.js';
import { describePeer, firstReason, missingPrograms, notRoot } from '../../helpers/skip.js';

/**
 * The durable probe (test/harness/smb2/durable-probe.ts) against a real smbd 4.17: a durable-v2 open
 * survives its client being SIGKILLed and is reclaimed by DH2C from a fresh process; the wrong
 * CreateGuid is refused; and tshark, reading the capture, decodes every create context cleanly.
 *
 * What smbd 4.17 needs to grant one (source3/smbd/durable.c, vfs_default_durable_cookie, and
 * smb2_create.c): `durable handles = yes` (the default), `kernel oplocks = no` (the default; the
 * [kernel-oplocks] share below shows a batch oplock granted but durability refused with it on),
 * `kernel share modes = no` (the default; with it on this kernel even the open fails with
 * SHARING_VIOLATION), and `posix locking = no` only matters for a handle that holds byte-range locks.
 * The open itself must hold handle caching: a batch oplock (or an RWH lease), which needs `oplocks = yes`.
 * bench/smbd.ts's [global] sets the three kernel/posix options to no explicitly.
 */
const PROBE = join(projectRoot, 'dist/test/harness/smb2/durable-probe.js');

interface ProbeEvent {
  event: string;
  [key: string]: unknown;
}

describePeer(
  'durable-probe: a durable handle against real smbd 4.17, reclaimed after SIGKILL',
  firstReason(notRoot(), missingPrograms('ip', 'smbd', 'smbpasswd', 'ss', 'tshark', 'iptables')),
  () => {
    const ns = `mcc${runTag()}dh`;
    const dir = mkdtempSync(join(tmpdir(), 'mcc-durable-'));
    const pcap = join(dir, 'probe.pcap');
    let smbd: SmbdInstance | undefined;
    let tshark: ChildProcess | undefined;
    const children: ChildProcess[] = [];

    function probeArgs(command: string, extra: string[]): string[] {
      const common = ['--server', '127.0.0.1', '--user', 'root', '--password', smbd!.password];
      return ['netns', 'exec', ns, process.execPath, PROBE, command, ...common, ...extra];
    }

    /** Starts `open` and resolves with its first line and the running process. */
    async function open(
      share: string,
      file: string,
      more: string[] = [],
    ): Promise<{ line: ProbeEvent; child: ChildProcess }> {
      const args = [
        '--share',
        share,
        '--file',
        file,
        '--timeout-ms',
        '120000',
        '--io-timeout-ms',
        '10000',
        ...more,
      ];
      const child = spawn('ip', probeArgs('open', args), { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      const lines: ProbeEvent[] = [];
      child.stdout!.on(
        'data',
        lineSplitter((l) => lines.push(JSON.parse(l) as ProbeEvent)),
      );
      const line = await waitFor('the probe to print its first line', 20_000, () => {
        if (child.exitCode !== null && lines.length === 0) throw new Error(`probe exited ${child.exitCode}`);
        return lines[0];
      });
      return { line, child };
    }

    function reconnect(
      file: string,
      fileId: string,
      createGuid: string,
      more: string[] = [],
    ): { line: ProbeEvent; code: number } {
      const args = [
        '--share',
        'share',
        '--file',
        file,
        '--file-id',
        fileId,
        '--create-guid',
        createGuid,
        ...more,
      ];
      try {
        const out = execFileSync('ip', probeArgs('reconnect', args), { encoding: 'utf8', timeout: 30_000 });
        return { line: JSON.parse(out.trim().split('\n')[0]!) as ProbeEvent, code: 0 };
      } catch (error) {
        const e = error as { stdout?: string; status?: number };
        return {
          line: JSON.parse((e.stdout ?? '').trim().split('\n')[0]!) as ProbeEvent,
          code: e.status ?? -1,
        };
      }
    }

    /** smbd's per-connection children (comm "smbd", parent the listener); helpers have their own names. */
    function connectionSmbds(): number[] {
      return nsPids(ns).filter((pid) => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
          return ppid === smbd!.pid && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'smbd';
        } catch {
          return false;
        }
      });
    }

    beforeAll(async () => {
      ip('netns', 'add', ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      mkdirSync(join(dir, 'kshare'), { recursive: true });
      smbd = await SmbdInstance.start({
        dir,
        ns,
        listenAddress: '127.0.0.1',
        shares: [
          '[kernel-oplocks]',
          `\tpath = ${join(dir, 'kshare')}`,
          '\tread only = no',
          '\tkernel oplocks = yes',
        ],
      });
      tshark = spawn(
        'ip',
        [
          'netns',
          'exec',
          ns,
          'tshark',
          '-n',
          '-q',
          '-i',
          'lo',
          '-f',
          'tcp port 445',
          '-a',
          'duration:150',
          '-w',
          pcap,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let err = '';
      tshark.stderr!.on('data', (c: Buffer) => {
        err += c.toString();
      });
      await waitFor('tshark to capture', 20_000, () => err.includes('Capturing on'));
    }, 60_000);

    afterAll(async () => {
      for (const c of children) if (c.exitCode === null && c.pid) c.kill('SIGKILL');
      if (tshark?.pid && tshark.exitCode === null) tshark.kill('SIGKILL');
      await smbd?.stop();
      await deleteNamespace(ns);
      rmSync(dir, { recursive: true, force: true });
    });

    let opened: ProbeEvent;

    it('grants the durable open, then reclaims it from a fresh process after SIGKILL; a wrong CreateGuid is refused', async () => {
      const before = connectionSmbds();
      expect(before).toEqual([]);
      const { line, child } = await open('share', 'durable.txt');
      opened = line;
      expect(line).toMatchObject({ event: 'opened', durable: true, timeoutMs: 120000, oplockLevel: 9 });
      expect(line.fileId).toMatch(/^[0-9a-f]{32}$/);
      await waitFor('the connection smbd', 10_000, () => connectionSmbds().length === 1);

      // A crash: no CLOSE, no LOGOFF, the kernel closes the socket. smbd marks the open disconnected
      // while its connection process exits; wait for that before reclaiming.
      child.kill('SIGKILL');
      await once(child, 'exit');
      await waitFor('the old connection smbd to exit', 15_000, () => connectionSmbds().length === 0);

      const wrong = reconnect('durable.txt', String(line.fileId), '00000000-1111-2222-3333-444444444444');
      expect(wrong).toEqual({
        code: 2,
        line: expect.objectContaining({
          event: 'reconnect-failed',
          status: 'NT_STATUS_OBJECT_NAME_NOT_FOUND',
        }),
      });

      // From a fresh process with a ClientGUID of its own: for an oplock, smbd checks the CreateGuid and
      // the user, not the client (smbXsrv_open.c, smb2srv_open_recreate).
      const right = reconnect('durable.txt', String(line.fileId), String(line.createGuid));
      expect(right.code).toBe(0);
      expect(right.line).toMatchObject({ event: 'reconnected', createGuid: line.createGuid, oplockLevel: 9 });
      expect(right.line.clientGuid).not.toBe(line.clientGuid);
      // Same persistent id (first 8 bytes), a new volatile one.
      expect(String(right.line.fileId).slice(0, 16)).toBe(String(line.fileId).slice(0, 16));

      // The reconnect CLOSEd the handle: it is gone, and reclaiming it again is refused.
      const again = reconnect('durable.txt', String(line.fileId), String(line.createGuid));
      expect(again.line).toMatchObject({
        event: 'reconnect-failed',
        status: 'NT_STATUS_OBJECT_NAME_NOT_FOUND',
      });
    });

    it('with an RWH lease instead: granted, reclaimed only by the same ClientGUID with the lease key', async () => {
      const { line, child } = await open('share', 'leased.txt', ['--lease']);
      expect(line).toMatchObject({ event: 'opened', durable: true, oplockLevel: 0xff, leaseState: 7 });
      await waitFor('the connection smbd', 10_000, () => connectionSmbds().length === 1);
      child.kill('SIGKILL');
      await once(child, 'exit');
      await waitFor('the old connection smbd to exit', 15_000, () => connectionSmbds().length === 0);
      // A lease belongs to its ClientGUID (durable.c checks the share-mode entry's client_guid): from
      // another client the reclaim is refused, and the handle stays reclaimable by its own client.
      const leaseArgs = ['--lease-key', String(line.leaseKey)];
      const stranger = reconnect('leased.txt', String(line.fileId), String(line.createGuid), leaseArgs);
      expect(stranger).toEqual({
        code: 2,
        line: expect.objectContaining({
          event: 'reconnect-failed',
          status: 'NT_STATUS_OBJECT_NAME_NOT_FOUND',
        }),
      });
      const back = reconnect('leased.txt', String(line.fileId), String(line.createGuid), [
        ...leaseArgs,
        '--client-guid',
        String(line.clientGuid),
      ]);
      expect(back.code).toBe(0);
      expect(back.line).toMatchObject({
        event: 'reconnected',
        oplockLevel: 0xff,
        leaseKey: line.leaseKey,
        leaseState: 7,
        clientGuid: line.clientGuid,
      });
    });

    it('with --echo-ms the probe notices a path that died without a reset, and says so', async () => {
      const { line, child } = await open('share', 'echo.txt', [
        '--echo-ms',
        '200',
        '--io-timeout-ms',
        '1000',
      ]);
      expect(line).toMatchObject({ event: 'opened', durable: true });
      const lines: ProbeEvent[] = [];
      child.stdout!.on(
        'data',
        lineSplitter((l) => lines.push(JSON.parse(l) as ProbeEvent)),
      );
      // Drop the client's packets to smbd inside the test's namespace: no FIN, no RST, just silence.
      const rule = ['INPUT', '-p', 'tcp', '--dport', '445', '-j', 'DROP'];
      execFileSync('ip', ['netns', 'exec', ns, 'iptables', '-A', ...rule]);
      try {
        const [code] = await once(child, 'exit');
        expect(code).toBe(0);
        expect(lines.at(-1)).toMatchObject({ event: 'closed' });
        expect(String(lines.at(-1)!.reason)).toMatch(
          /^ECHO failed: no answer to MessageId \d+ within 1000 ms/,
        );
      } finally {
        execFileSync('ip', ['netns', 'exec', ns, 'iptables', '-D', ...rule]);
      }
    });

    it('with kernel oplocks = yes smbd grants the batch oplock but not durability', async () => {
      const { line, child } = await open('kernel-oplocks', 'kernel.txt');
      expect(line).toMatchObject({ event: 'opened', durable: false, timeoutMs: 0, oplockLevel: 9 });
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
    });

    it('tshark decodes the probe exchange: DH2Q and DH2C contexts as sent, no malformed packet', async () => {
      tshark!.kill('SIGINT');
      await waitFor('tshark to finish the capture', 15_000, () =>
        pidAlive(tshark!.pid!) ? undefined : true,
      );
      const fields = [
        'smb2.cmd',
        'smb2.flags.response',
        'smb2.nt_status',
        'smb2.tag',
        'smb2.dh2x.timeout',
        'smb2.dh2x.create_guid',
        'smb2.fid',
      ];
      const out = execFileSync(
        'tshark',
        [
          '-n',
          '-r',
          pcap,
          '-Y',
          'smb2.cmd == 5',
          '-T',
          'fields',
          '-E',
          'occurrence=f',
          ...fields.flatMap((f) => ['-e', f]),
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const creates = out
        .trim()
        .split('\n')
        .map((l) => l.split('\t'));
      const fid = guidFromBytes(new Uint8Array(Buffer.from(String(opened.fileId), 'hex')));
      const guid = String(opened.createGuid);
      const req = (tag: string) => creates.filter((c) => c[1] === '0' && c[3] === tag);
      const res = (tag: string) => creates.filter((c) => c[1] === '1' && c[3] === tag);
      expect(req('DH2Q').some((c) => c[4] === '120000' && c[5] === guid)).toBe(true);
      expect(res('DH2Q').some((c) => c[2] === '0x00000000' && c[4] === '120000' && c[6] === fid)).toBe(true);
      // DH2C requests: the wrong GUID, the right one, and the one after the handle was closed.
      const dh2c = req('DH2C').filter((c) => c[6] === fid);
      expect(dh2c.map((c) => [c[5], c[6]])).toEqual([
        ['00000000-1111-2222-3333-444444444444', fid],
        [guid, fid],
        [guid, fid],
      ]);
      const statuses = creates.filter((c) => c[1] === '1').map((c) => c[2]);
      expect(statuses).toContain('0xc0000034');
      const matching = (filter: string) =>
        execFileSync('tshark', ['-n', '-r', pcap, '-Y', filter], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        }).trim();
      // The lease open and its two reclaims, and smbd's answers to the open and the good reclaim.
      const leases = matching('smb2.tag == "RqLs" && smb2.lease.lease_state == 0x07');
      expect(leases.split('\n')).toHaveLength(5);
      const malformed = matching('_ws.malformed || _ws.expert.severity == error');
      expect(malformed.trim()).toBe('');
    });
  },
);
