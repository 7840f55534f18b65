#!/usr/bin/env node
import { Command } from 'commander';
import { ConfigError, embeddedDefaultConfig, loadConfigFile } from '../coordinator/config.js';
import { runDaemon } from '../coordinator/daemon.js';
import { packageVersion } from '../coordinator/version.js';

const program = new Command('mccd')
  .description('mcc sidecar daemon: SMB3 multi-channel coordinator for one CTDB node')
  .version(packageVersion())
  .option('-c, --config <FILE>', 'JSON or YAML config file (default: $MCC_CONFIG, else the embedded default)')
  .option('--check-config', 'validate the config, print it as JSON and exit')
  .addHelpText(
    'after',
    `
Without a config, mccd uses the embedded default: SMB front door on 127.0.0.1:4450, the worker backend
on workers.sock (connections are served once a worker registers, e.g. \`mcc worker\`; the quick start
starts one) and the operator API on mccd.sock (both in /run/mcc for root, else a
private per-user directory), cluster view from ctdbd at /run/ctdb/ctdbd.socket if it answers, otherwise
single-node mode (logged as such). SIGTERM/SIGINT drain, write the state file and exit; SIGHUP
reloads log.level, interfaces and state.writeIntervalMs/maxBytes from the config file (the rest needs a
restart, which keeps every client: the next mccd takes them back from state.file, see docs/restart.md).
Socket-activated (LISTEN_FDS, deploy/systemd/mccd.socket), mccd serves each listen address from the
inherited socket bound to it. deploy/mccd.example.yaml lists every key.
Logs go to stderr: one JSON line per event, or coloured lines when stderr is a terminal.`,
  )
  .action(async (options: { config?: string; checkConfig?: boolean }) => {
    const path = options.config ?? process.env.MCC_CONFIG;
    let config: ReturnType<typeof embeddedDefaultConfig>;
    try {
      config = path ? loadConfigFile(path) : embeddedDefaultConfig();
    } catch (error) {
      if (error instanceof ConfigError) {
        process.stderr.write(`mccd: invalid config: ${error.message}\n`);
        process.exit(2);
      }
      throw error;
    }
    if (options.checkConfig) {
      process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
      return;
    }
    await runDaemon(config, { configPath: path });
  });

await program.parseAsync(process.argv);
