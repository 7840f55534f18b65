import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../helpers/reference.js';

// The loader is exercised on a copy of the built dist/native/addon.js placed in a scratch tree, so the
// real build is never touched.
const scratch = mkdtempSync(join(tmpdir(), 'mcc-loader-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function importLoader(dir: string) {
  return spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `await import(${JSON.stringify(join(dir, 'addon.js'))})`],
    {
      encoding: 'utf8',
    },
  );
}

describe('native addon loader', () => {
  const dir = join(scratch, 'native');
  mkdirSync(join(dir, 'src'), { recursive: true });
  copyFileSync(join(projectRoot, 'dist/native/addon.js'), join(dir, 'addon.js'));
  writeFileSync(join(dir, 'binding.gyp'), '{}');

  it('says how to build it when the addon is missing', () => {
    const out = importLoader(dir);
    expect(out.status).not.toBe(0);
    expect(out.stderr).toMatch(/mcc native addon is not built .* run "npm run build:native"/);
  });

  it('says it is stale when a source changed after the build', () => {
    mkdirSync(join(dir, 'build/Release'), { recursive: true });
    copyFileSync(
      join(projectRoot, 'native/build/Release/mcc_native.node'),
      join(dir, 'build/Release/mcc_native.node'),
    );
    writeFileSync(join(dir, 'src/diag.cc'), '// newer');
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(dir, 'src/diag.cc'), later, later);
    const out = importLoader(dir);
    expect(out.status).not.toBe(0);
    expect(out.stderr).toMatch(/mcc native addon is stale \(diag\.cc changed after the build\)/);
  });
});
