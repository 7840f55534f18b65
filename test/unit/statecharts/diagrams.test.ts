import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { breakRetryMachine, channelMachine, clientMachine, toMermaid } from '../../../statecharts/index.js';

/** docs/statecharts.md shows the machines as `mcc machines` draws them, so the two cannot drift apart. */
const doc = readFileSync(new URL('../../../docs/statecharts.md', import.meta.url), 'utf8');

describe('docs/statecharts.md', () => {
  for (const [name, machine] of [
    ['client', clientMachine],
    ['channel', channelMachine],
    ['break-retry', breakRetryMachine],
  ] as const)
    it(`draws the ${name} machine as it is`, () => {
      expect(doc).toContain(`## ${name}\n\n\`\`\`mermaid\n${toMermaid(machine)}\`\`\``);
    });
});
