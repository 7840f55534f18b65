import type { Command } from 'commander';
import { breakRetryMachine, channelMachine, clientMachine, toMermaid } from '../../statecharts/index.js';
import { runCommand, UsageError } from '../io.js';

const MACHINES = {
  client: clientMachine,
  channel: channelMachine,
  'break-retry': breakRetryMachine,
} as const;

export function registerMachinesCommand(program: Command): void {
  program
    .command('machines')
    .description('print the statecharts (client, channel, break-retry) as Mermaid diagrams')
    .option('--name <NAME>', `one machine: ${Object.keys(MACHINES).join(', ')}`)
    .action((options: { name?: string }) =>
      runCommand('machines', () => {
        const names = options.name ? [options.name] : Object.keys(MACHINES);
        for (const name of names) {
          const machine = MACHINES[name as keyof typeof MACHINES];
          if (!machine)
            throw new UsageError(
              `--name must be one of ${Object.keys(MACHINES).join(', ')}, got ${JSON.stringify(name)}`,
            );
          process.stdout.write(`## ${name}\n\n\`\`\`mermaid\n${toMermaid(machine)}\`\`\`\n\n`);
        }
      }),
    );
}
