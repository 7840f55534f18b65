import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { embeddedDefaultConfig } from '../../../coordinator/config.js';
import { effectivePendingBounds, reservedFds } from '../../../coordinator/pending-peeks.js';
import { projectRoot } from '../../helpers/reference.js';

describe('the systemd unit and mccd’s bounds agree', () => {
  it('LimitNOFILE leaves room for the default pending bound plus the reserve, so nothing is lowered', () => {
    const unit = readFileSync(join(projectRoot, 'deploy/systemd/mccd.service'), 'utf8');
    const limit = Number(/^LimitNOFILE=(\d+)$/m.exec(unit)?.[1]);
    expect(limit).toBeGreaterThan(0);
    const { negotiate } = embeddedDefaultConfig();
    const bounds = effectivePendingBounds(negotiate, limit);
    expect(bounds.lowered).toBeUndefined();
    expect(negotiate.maxPending + reservedFds(limit)).toBeLessThanOrEqual(limit);
  });
});
