import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { unixSocketAnswers } from '../../coordinator/cluster-mode.js';
import {
  ConfigError,
  defaultApiSocket,
  embeddedDefaultConfig,
  loadConfigFile,
} from '../../coordinator/config.js';
import { CtdbdClusterView } from '../../ctdb/ctdbd-view.js';
import {
  InterfaceDiscovery,
  type InterfacesReport,
  interfacesReport,
  PublicIpTracker,
} from '../../ifdiscovery/index.js';
import { apiGet } from '../api-client.js';
import { formatTable, printJson, runCommand, UsageError } from '../io.js';

function table(r: InterfacesReport): string {
  const lines = [
    formatTable(
      ['IfIndex', 'Interface', 'Address', 'Speed', 'RSS', 'RDMA'],
      r.announced.map((a) => [
        a.ifIndex,
        a.interfaceName,
        a.address,
        `${a.speed / 1e9} Gb/s`,
        a.rss ? 'yes' : 'no',
        a.rdma ? 'yes' : 'no',
      ]),
    ),
    `Public IPs left out (${r.publicIpSource}): ${r.publicFiltered.join(', ') || 'none on this node'}`,
  ];
  if (!r.clusterKnown) lines.push('Cluster public IPs unknown: nothing is announced until they are read.');
  return `${lines.join('\n')}\n`;
}

async function offline(options: {
  config?: string;
  publicIps?: string;
  ctdbSocket?: string;
}): Promise<InterfacesReport> {
  let config = embeddedDefaultConfig();
  if (options.config) {
    try {
      config = loadConfigFile(options.config);
    } catch (error) {
      if (error instanceof ConfigError) throw new UsageError(error.message);
      throw error;
    }
  }
  const staticIps = options.publicIps
    ? options.publicIps
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
  const socket = options.ctdbSocket ?? config.cluster.ctdbdSocket;
  let view: CtdbdClusterView | undefined;
  let publicIpSource = options.publicIps ? '--public-ips' : 'none given';
  if (!options.publicIps && (await unixSocketAnswers(socket))) {
    view = new CtdbdClusterView({ socketPath: socket, timeoutMs: 3000 });
    await view.start();
    publicIpSource = `ctdbd at ${socket}`;
  }
  try {
    const tracker = new PublicIpTracker(view, staticIps);
    if (view) await tracker.refresh('cli');
    const discovery = new InterfaceDiscovery(config.interfaces, tracker);
    return interfacesReport('offline', publicIpSource, discovery.current(), tracker.addresses());
  } finally {
    await view?.stop();
  }
}

export function registerInterfacesCommand(program: Command): void {
  program
    .command('interfaces')
    .description('what this node announces for multi-channel (CTDB public IPs left out)')
    .option('--json', 'print the list and its sources as JSON')
    .option('--wire', 'print the NETWORK_INTERFACE_INFO bytes as hex')
    .option('--smb-conf', 'print the smb.conf `interfaces =` line that makes smbd announce the same list')
    .option('--offline', 'compute locally even if mccd is running')
    .option('-c, --config <FILE>', 'mccd config file whose `interfaces` section applies (offline)')
    .option('--public-ips <LIST>', 'comma-separated public IPs, when ctdbd is not reachable (offline)')
    .option('--ctdb-socket <PATH>', 'ctdbd socket to read public IPs from (offline)')
    .option(
      '--socket <PATH>',
      `mccd operator API socket (default $MCC_SOCKET, else ${defaultApiSocket()}); without a running mccd the list is computed here`,
    )
    .action(
      (options: {
        json?: boolean;
        wire?: boolean;
        smbConf?: boolean;
        offline?: boolean;
        config?: string;
        publicIps?: string;
        ctdbSocket?: string;
        socket?: string;
      }) =>
        runCommand('interfaces', async () => {
          const apiSocket = options.socket ?? process.env.MCC_SOCKET ?? defaultApiSocket();
          let report: InterfacesReport;
          if (!options.offline && apiSocket && existsSync(apiSocket)) {
            report = {
              ...(await apiGet<InterfacesReport>({ socketPath: apiSocket }, '/v1/interfaces')),
              source: 'mccd',
            };
          } else {
            if (options.socket) throw new UsageError(`no mccd socket at ${options.socket}`);
            report = await offline(options);
          }
          if (options.json) printJson(report);
          else if (options.wire) process.stdout.write(`${report.wireHex}\n`);
          else if (options.smbConf) process.stdout.write(`${report.smbConf}\n`);
          else process.stdout.write(table(report));
        }),
    );
}
