import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { overallExposure } from '../../harness/unit-sandbox.js';
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

    function exposure(unitPath: string): number {
      return overallExposure(
        execFileSync('sh', ['-c', `systemd-analyze security --offline=true ${unitPath} 2>&1`], {
          encoding: 'utf8',
          timeout: 30_000,
        }),
      );
    }

    /** The scores docs/security.md states, in the order it states them (unit alone, with the drop-in). */
    function documentedScores(): number[] {
      const doc = readFileSync(join(projectRoot, 'docs/security.md'), 'utf8');
      return [
        ...doc.matchAll(/rates?\s+the\s+unit\s+(?:alone|with\s+the\s+drop-in)\s+\*\*(\d+\.\d) OK\*\*/g),
      ].map((m) => Number(m[1]));
    }

    it('the worker-backend unit rates at most 3.5 exactly as the repository has it, as docs/security.md says', () => {
      // The repository's path itself: systemd-analyze also reads any mccd.service.d/ beside the unit.
      const score = exposure(join(projectRoot, 'deploy/systemd/mccd.service'));
      expect(score).toBeLessThanOrEqual(3.5);
      expect(documentedScores()[0]).toBe(score);
    });

    it('with the smbd-backend drop-in installed beside it, the unit rates as docs/security.md says', () => {
      const installed = join(dir, 'with-drop-in');
      mkdirSync(join(installed, 'mccd.service.d'), { recursive: true });
      copyFileSync(join(projectRoot, 'deploy/systemd/mccd.service'), join(installed, 'mccd.service'));
      copyFileSync(
        join(projectRoot, 'deploy/systemd/smbd-backend.conf'),
        join(installed, 'mccd.service.d', 'smbd-backend.conf'),
      );
      const score = exposure(join(installed, 'mccd.service'));
      expect(score).toBeGreaterThan(exposure(join(projectRoot, 'deploy/systemd/mccd.service')));
      expect(documentedScores()[1]).toBe(score);
    });
  },
);
