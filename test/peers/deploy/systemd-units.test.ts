import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { projectRoot } from '../../helpers/reference.js';
import { describePeer, missingPrograms } from '../../helpers/skip.js';

/** deploy/systemd's units as systemd itself reads them: no unknown key, no bad value, paired up. */
describePeer(
  'systemd units in deploy/systemd (systemd-analyze verify)',
  missingPrograms('systemd-analyze'),
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcc-units-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('mccd.socket and mccd.service verify without a complaint, and the service uses the socket', () => {
      for (const unit of ['mccd.socket', 'mccd.service'])
        copyFileSync(join(projectRoot, 'deploy/systemd', unit), join(dir, unit));
      const out = execFileSync(
        'sh',
        ['-c', `systemd-analyze verify ${join(dir, 'mccd.socket')} ${join(dir, 'mccd.service')} 2>&1`],
        { encoding: 'utf8', timeout: 30_000 },
      );
      expect(out.trim()).toBe('');
      const service = readFileSync(join(dir, 'mccd.service'), 'utf8');
      expect(service).toMatch(/^Requires=mccd\.socket$/m);
      expect(service).toMatch(/^RuntimeDirectoryPreserve=restart$/m);
      expect(readFileSync(join(dir, 'mccd.socket'), 'utf8')).toMatch(/^ListenStream=/m);
    });
  },
);
