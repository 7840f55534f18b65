import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { InterfacesReport } from '../../../ifdiscovery/index.js';
import { canonicalIp } from '../../../wire/ip.js';
import { deleteNamespace, ip, runTag } from '../../harness/netns.js';
import { parseSmbtortureInterfaces, SmbdInstance } from '../../harness/smbd.js';
import { projectRoot } from '../../helpers/reference.js';
import { describePeer, firstReason, missingPrograms, notRoot } from '../../helpers/skip.js';

const execFileAsync = promisify(execFile);

describePeer(
  'ifdiscovery against real smbd: smbd announces exactly the list mcc computes',
  firstReason(notRoot(), missingPrograms('ip', 'smbd', 'smbtorture', 'smbpasswd', 'ss')),
  () => {
    const ns = `mcc${runTag()}if`;
    const dir = mkdtempSync(join(tmpdir(), 'mcc-ifsmbd-'));
    let smbd: SmbdInstance | undefined;
    let report: InterfacesReport;
    const PUBLIC = '10.214.0.200';

    beforeAll(async () => {
      // Interfaces like reference/samba-4.17/smb.conf.standalone: a fast RSS+RDMA link and a 1 Gb/s one
      // with if_index 77, plus a "public" address on the fast link that must never be announced.
      ip('netns', 'add', ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      for (const l of ['mc0', 'mc1']) {
        ip('-n', ns, 'link', 'add', l, 'type', 'veth', 'peer', 'name', `${l}p`);
        ip('-n', ns, 'link', 'set', l, 'up');
        ip('-n', ns, 'link', 'set', `${l}p`, 'up');
      }
      ip('-n', ns, 'addr', 'add', '10.214.0.10/24', 'dev', 'mc0');
      ip('-n', ns, 'addr', 'add', `${PUBLIC}/24`, 'dev', 'mc0');
      ip('-n', ns, 'addr', 'add', '10.214.1.11/24', 'dev', 'mc1');
      ip('-n', ns, 'addr', 'add', 'fd00:5e::11/64', 'dev', 'mc1', 'nodad');
      const config = join(dir, 'mccd.json');
      writeFileSync(
        config,
        JSON.stringify({
          interfaces: {
            exclude: ['mc0p', 'mc1p'],
            overrides: {
              mc0: { speed: 25e9, rss: true, rdma: true },
              mc1: { speed: 1e9, rss: false, ifIndex: 77 },
            },
          },
        }),
      );
      const { stdout } = await execFileAsync('ip', [
        'netns',
        'exec',
        ns,
        process.execPath,
        join(projectRoot, 'dist/cli/mcc.js'),
        'interfaces',
        '--json',
        '--offline',
        '-c',
        config,
        '--public-ips',
        PUBLIC,
      ]);
      report = JSON.parse(stdout) as InterfacesReport;
      smbd = await SmbdInstance.start({ dir, ns, listenAddress: '10.214.0.10', globals: [report.smbConf] });
    }, 60_000);

    afterAll(async () => {
      await smbd?.stop();
      await deleteNamespace(ns);
      rmSync(dir, { recursive: true, force: true });
    });

    it('mcc leaves the public IP out and keeps every fixed address with the overrides applied', () => {
      // Ordered by interface index: mc0's kernel index is small, mc1's is overridden to 77.
      expect(report.announced.map((a) => [a.address, a.speed, a.rss, a.rdma])).toEqual([
        ['10.214.0.10', 25e9, true, true],
        ['10.214.1.11', 1e9, false, false],
        ['fd00:5e::11', 1e9, false, false],
      ]);
      expect(report.announced.map((a) => a.ifIndex).slice(1)).toEqual([77, 77]);
      expect(report.publicFiltered).toEqual([PUBLIC]);
      expect(report.smbConf).not.toContain(PUBLIC);
    });

    it('smbd, configured with the generated line, answers FSCTL_QUERY_NETWORK_INTERFACE_INFO with the same list in the same order', async () => {
      const r = await smbd!.run([
        'smbtorture',
        '//10.214.0.10/share',
        '-U',
        `root%${smbd!.password}`,
        '-s',
        smbd!.confPath,
        'smb2.ioctl.network_interface_info',
        '-d1',
      ]);
      expect(r.stdout, r.stderr).toMatch(/success: network_interface_info/);
      // smbtorture prints the NDR dump of the answer on stderr at -d1.
      const announced = parseSmbtortureInterfaces(`${r.stdout}\n${r.stderr}`).map((e) => ({
        ...e,
        address: canonicalIp(e.address.replace(/(^|:)0+(?=[0-9a-f])/g, '$1')),
      }));
      expect(announced).toEqual(
        report.announced.map((a) => ({
          ifIndex: a.ifIndex,
          capability: (a.rss ? 1 : 0) | (a.rdma ? 2 : 0),
          linkSpeed: a.speed,
          address: a.address,
        })),
      );
      expect(announced.map((a) => a.address)).not.toContain(PUBLIC);
    });
  },
);
