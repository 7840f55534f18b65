import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../helpers/reference.js';

// The logger decides by whether stderr is a terminal, so it is run as mccd runs: in a process of its
// own, once under a pseudo-terminal (util-linux `script`) and once with stderr on a pipe.
const logOnce = `import(${JSON.stringify(join(projectRoot, 'dist/coordinator/log.js'))}).then((m) => m.createLogger('info').warn({ mode: 'single-node' }, 'mccd running in single-node mode'))`;

describe('mccd log format', () => {
  it('JSON lines when stderr is not a terminal (journald, log shippers)', () => {
    const out = execFileSync('sh', ['-c', `"${process.execPath}" -e "$0" 2>&1`, logOnce], {
      encoding: 'utf8',
    });
    expect(JSON.parse(out.trim())).toMatchObject({ level: 40, name: 'mccd', mode: 'single-node' });
  });

  it('pretty lines when a person watches a terminal', () => {
    const command = `"${process.execPath}" -e '${logOnce.replaceAll("'", "'\\''")}'`;
    const out = execFileSync('script', ['-qfec', command, '/dev/null'], { encoding: 'utf8' });
    const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
    expect(plain).toMatch(/WARN.*\(mccd\/\d+\): mccd running in single-node mode/);
    expect(plain).toMatch(/mode: "single-node"/);
    expect(() => JSON.parse(plain.trim())).toThrow();
  });
});
