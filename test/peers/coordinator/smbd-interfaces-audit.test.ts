import { EventEmitter, once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { InterfacesAudit } from '../../../coordinator/backends/smbd-interfaces-audit.js';
import type { InterfacesProblem } from '../../../ifdiscovery/smbconf-audit.js';
import { describePeer, missingPrograms } from '../../helpers/skip.js';

describePeer(
  "mccd's audit of smbd's interfaces line, read by the real testparm",
  missingPrograms('testparm'),
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcc-audit-'));
    const conf = join(dir, 'smb.conf');
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('reports a line that can announce a public IP, again when the public IPs grow, and when it is fixed', async () => {
      const ips = ['10.213.0.101'];
      const publicIps = Object.assign(new EventEmitter(), { addresses: () => ips });
      writeFileSync(conf, '[global]\n\tinterfaces = "10.213.0.1;speed=1000000000" 10.214.0.0/16\n');
      const audit = new InterfacesAudit(conf, publicIps);
      const seen: InterfacesProblem[][] = [];
      audit.on('changed', (p) => seen.push(p));
      try {
        await audit.start();
        expect(seen).toEqual([[]]);
        // A public IP inside the configured network appears: the same line is now a problem.
        ips.push('10.214.0.50');
        const next = once(audit, 'changed');
        publicIps.emit('changed');
        const [problems] = (await next) as [InterfacesProblem[]];
        expect(problems.map((p) => `${p.kind} ${p.entry}`)).toEqual([
          'network-holds-public-ip 10.214.0.0/16',
        ]);
        writeFileSync(conf, '[global]\n\tinterfaces = eth0\n');
        await audit.run();
        expect(seen.at(-1)!.map((p) => p.kind)).toEqual(['interface-name']);
        writeFileSync(conf, '[global]\n\tinterfaces = "10.213.0.1;speed=1000000000"\n');
        await audit.run();
        expect(seen.at(-1)).toEqual([]);
        expect(audit.describe()).toMatchObject({ line: '10.213.0.1;speed=1000000000', problems: [] });
      } finally {
        audit.stop();
      }
    });
  },
);
