import { afterEach, describe, expect, it } from 'vitest';
import { envAtLeast } from '../../helpers/env.js';

describe('envAtLeast', () => {
  afterEach(() => {
    delete process.env.MCC_TEST_KNOB;
  });

  it('uses the default when unset and the value when it is large enough', () => {
    expect(envAtLeast('MCC_TEST_KNOB', 50, 10)).toBe(50);
    process.env.MCC_TEST_KNOB = '25';
    expect(envAtLeast('MCC_TEST_KNOB', 50, 10)).toBe(25);
  });

  it('raises 0 to the minimum instead of running nothing', () => {
    process.env.MCC_TEST_KNOB = '0';
    expect(envAtLeast('MCC_TEST_KNOB', 50, 10)).toBe(10);
  });

  it('rejects a value that is not a number', () => {
    process.env.MCC_TEST_KNOB = 'lots';
    expect(() => envAtLeast('MCC_TEST_KNOB', 50, 10)).toThrow('MCC_TEST_KNOB=lots: expected a number');
  });
});
