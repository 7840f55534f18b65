#!/usr/bin/env node
import { Command } from 'commander';
import { packageVersion } from '../coordinator/version.js';
import { registerInterfacesCommand } from './commands/interfaces.js';
import { registerMachinesCommand } from './commands/machines.js';
import { registerOperatorCommands } from './commands/operator.js';
import { registerProbeCommand } from './commands/probe.js';
import { registerSmbdirectTestCommand } from './commands/smbdirect-test.js';
import { registerWireCommands } from './commands/wire.js';

const program = new Command('mcc')
  .description('operator CLI for mcc, the SMB3 multi-channel coordinator for CTDB clusters')
  .version(packageVersion())
  .showHelpAfterError()
  .configureOutput({ outputError: (text, write) => write(text) })
  .exitOverride((error) => {
    // commander's own usage errors (unknown option, missing argument) exit 2 like our bad-input errors.
    process.exit(error.exitCode === 0 ? 0 : 2);
  });

registerWireCommands(program);
registerMachinesCommand(program);
registerInterfacesCommand(program);
registerOperatorCommands(program);
registerProbeCommand(program);
registerSmbdirectTestCommand(program);

await program.parseAsync(process.argv);
