import { request } from 'node:http';
import type { Command } from 'commander';
import type { StatusAnswer } from '../../coordinator/api.js';
import { defaultApiSocket, defaultRunPath } from '../../coordinator/config.js';
import type { ChannelRow, ClientRow } from '../../coordinator/operator-views.js';
import { checkSocketToConnect } from '../../coordinator/socket-dir.js';
import { resumeAfterMccd, runReferenceWorker } from '../../coordinator/worker/reference-worker.js';
import { type ApiTarget, apiGet, apiRequest, eventStreamParser } from '../api-client.js';
import { formatTable, printJson, runCommand } from '../io.js';

/** The API socket, once its directory is known to be one no unprivileged user could have swapped. */
function target(options: { socket?: string }): ApiTarget {
  const socketPath = options.socket ?? process.env.MCC_SOCKET ?? defaultApiSocket();
  checkSocketToConnect(socketPath, '--socket');
  return { socketPath };
}

function channelTable(rows: ChannelRow[]): string {
  return formatTable(
    [
      'Node',
      'Client GUID',
      'Ch',
      'State',
      'Client IP',
      'Server IP',
      'SrvIf',
      'RSS',
      'RDMA',
      'Speed',
      'Public',
      'Owner',
      'Age',
      'Sent',
      'Recv',
    ],
    rows.map((r) => [
      r.node,
      r.clientGuid,
      r.channelId,
      r.state,
      `${r.clientIp}:${r.clientPort}`,
      `${r.serverIp}:${r.serverPort}`,
      r.serverInterfaceIndex,
      r.rssCapable === null ? null : r.rssCapable ? 'yes' : 'no',
      r.rdmaCapable === null ? null : r.rdmaCapable ? 'yes' : 'no',
      r.linkSpeed === null ? null : `${r.linkSpeed / 1e9}G`,
      r.onPublicIp ? 'yes' : 'no',
      r.ownerPid ? `${r.owner}/${r.ownerPid}` : r.owner,
      `${Math.round(r.ageMs / 1000)}s`,
      r.bytesSent,
      r.bytesReceived,
    ]),
  );
}

/** What `mcc status` says about the restart: when state was restored, how much was kept and dropped. */
function restartLine(r: StatusAnswer['restart']): string {
  if (!r) return 'unknown';
  if (r.outcome !== 'restored') return `nothing restored: ${r.detail}`;
  const why = Object.entries(r.dropped)
    .map(([reason, n]) => `${n} ${reason}`)
    .join('; ');
  return [
    `restored ${new Date(r.restoredAt ?? 0).toISOString()} from pid ${r.statePid}'s state:`,
    `kept ${r.clients.kept}/${r.clients.restored} client(s), ${r.channels.kept}/${r.channels.restored} channel(s);`,
    `dropped ${r.clients.dropped}${why ? ` (${why})` : ''}; ${r.unknownClosed} unknown connection(s) closed; ${r.tookMs} ms`,
  ].join(' ');
}

export function registerOperatorCommands(program: Command): void {
  const socketOption = [
    '--socket <PATH>',
    `mccd operator API socket (default $MCC_SOCKET, else ${defaultApiSocket()})`,
  ] as const;

  program
    .command('status')
    .description("this node's mccd: mode, cluster, listeners, backend, clients and channels")
    .option(...socketOption)
    .option('--json', 'JSON output')
    .action((o: { socket?: string; json?: boolean }) =>
      runCommand('status', async () => {
        const s = await apiGet<StatusAnswer>(target(o), '/v1/status');
        if (o.json) return printJson(s);
        const lines = [
          `Mode:            ${s.mode.kind}${s.mode.kind === 'single-node' ? ` (${s.mode.reason})` : ''}`,
          `This node:       ${s.pnn}`,
          `Cluster daemon:  ${s.mode.kind === 'single-node' ? 'none (single-node mode)' : s.clusterConnected ? 'connected' : 'NOT connected'}`,
          `SMB front door:  ${s.listen.map((l) => `${l.address}:${l.port}`).join(', ')}`,
          `Backend:         ${JSON.stringify(s.backend)}`,
          `Clients:         ${s.clients} ${JSON.stringify(s.clientStates)}`,
          `Channels:        ${s.channels}`,
          `Announced ifs:   ${s.interfaces}`,
          `Public IPs:      ${s.publicIps.join(', ') || 'none'}`,
          `mccd:            pid ${s.pid}, version ${s.version}, up ${Math.round(s.uptimeMs / 1000)} s`,
          `Restart:         ${restartLine(s.restart)}`,
          `State file:      ${s.state.file}${s.state.lastWrite ? ` (${s.state.lastWrite.clients} client(s), ${s.state.lastWrite.bytes} bytes, written ${new Date(s.state.lastWrite.at).toISOString()})` : ' (not written yet)'}`,
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }),
    );

  program
    .command('clients')
    .description('clients (ClientGUIDs) on this node')
    .option(...socketOption)
    .option('--json', 'JSON output')
    .action((o: { socket?: string; json?: boolean }) =>
      runCommand('clients', async () => {
        const rows = await apiGet<ClientRow[]>(target(o), '/v1/clients');
        if (o.json) return printJson(rows);
        process.stdout.write(
          formatTable(
            ['Client GUID', 'State', 'Dialect', 'Channels', 'Public', 'Owner', 'Age'],
            rows.map((r) => [
              r.clientGuid,
              r.state,
              r.dialect === null ? null : `0x${r.dialect.toString(16)}`,
              r.channels,
              r.onPublicIp ? 'yes' : 'no',
              r.owner ? `${r.owner.kind}:${r.owner.id}` : null,
              `${Math.round(r.ageMs / 1000)}s`,
            ]),
          ),
        );
      }),
    );

  program
    .command('channels')
    .description(
      'channels on this node (columns of Get-SmbMultichannelConnection, plus state, owner, age, bytes)',
    )
    .option(...socketOption)
    .option('--json', 'JSON output')
    .action((o: { socket?: string; json?: boolean }) =>
      runCommand('channels', async () => {
        const rows = await apiGet<ChannelRow[]>(target(o), '/v1/channels');
        if (o.json) printJson(rows);
        else process.stdout.write(channelTable(rows));
      }),
    );

  const cluster = program
    .command('cluster')
    .description('views across every node (over the mcc srvid in ctdbd)');
  cluster
    .command('channels')
    .description("every node's channels, collected by this node's mccd")
    .option(...socketOption)
    .option('--json', 'JSON output')
    .option('--timeout <MS>', 'how long to wait for the other nodes', '2000')
    .action((o: { socket?: string; json?: boolean; timeout: string }) =>
      runCommand('cluster channels', async () => {
        const r = await apiGet<{ nodes: Record<string, ChannelRow[]>; missing: number[] }>(
          target(o),
          `/v1/cluster/channels?timeoutMs=${Number(o.timeout)}`,
          Number(o.timeout) + 3000,
        );
        if (o.json) return printJson(r);
        process.stdout.write(channelTable(Object.values(r.nodes).flat()));
        if (r.missing.length) process.stdout.write(`No answer from node(s) ${r.missing.join(', ')}\n`);
      }),
    );

  program
    .command('teardown')
    .argument('<CLIENT_GUID>', 'the client to tear down on this node')
    .description('tear down every channel of one client (it reconnects)')
    .option(...socketOption)
    .action((guid: string, o: { socket?: string }) =>
      runCommand('teardown', async () => {
        printJson(await apiRequest(target(o), 'POST', `/v1/clients/${guid}/teardown`));
      }),
    );

  program
    .command('events')
    .description('transitions, cluster events and teardowns as they happen')
    .option(...socketOption)
    .option('--follow', 'keep printing until interrupted (default: print for --seconds)')
    .option('--seconds <N>', 'without --follow, how long to listen', '5')
    .option('--json', 'one JSON object per line')
    .action((o: { socket?: string; follow?: boolean; seconds: string; json?: boolean }) =>
      runCommand(
        'events',
        () =>
          new Promise<void>((resolve, reject) => {
            const req = request({ socketPath: target(o).socketPath, path: '/v1/events' }, (res) => {
              res.setEncoding('utf8');
              res.on(
                'data',
                eventStreamParser((event) => {
                  const e = event as Record<string, unknown> & { kind: string };
                  if (o.json) process.stdout.write(`${JSON.stringify(e)}\n`);
                  else
                    process.stdout.write(
                      `${new Date().toISOString()} ${e.kind} ${JSON.stringify(e.record ?? e.event ?? e.rejection ?? { client: e.clientGuid, reason: e.reason, latencyMs: e.latencyMs })}\n`,
                    );
                }),
              );
              res.on('end', resolve);
            });
            req.on('error', (e: NodeJS.ErrnoException) =>
              reject(new Error(`cannot reach mccd: ${e.code ?? e.message}`)),
            );
            req.end();
            if (!o.follow)
              setTimeout(() => {
                req.destroy();
                resolve();
              }, Number(o.seconds) * 1000).unref();
          }),
      ),
    );

  program
    .command('worker')
    .description(
      'run the reference worker: registers with mccd, answers NEGOTIATE and ECHO, keeps channels open',
    )
    .option('--worker-socket <PATH>', 'mccd worker socket', defaultRunPath('workers.sock'))
    .option('--id <ID>', 'worker id (default ref-<pid>)')
    .option(
      '--reconnect-ms <MS>',
      'when mccd restarts, keep the channels and re-register within this long (0: exit with mccd)',
      '60000',
    )
    .action((o: { workerSocket: string; id?: string; reconnectMs: string }) =>
      runCommand('worker', async () => {
        const client = await runReferenceWorker(o.workerSocket, o.id);
        const say = (line: string) => process.stderr.write(`mcc worker ${client.workerId}: ${line}\n`);
        say(`registered with mccd (node ${client.pnn})`);
        const withinMs = Number(o.reconnectMs);
        if (!Number.isInteger(withinMs) || withinMs < 0)
          throw new Error(`--reconnect-ms: expected milliseconds, got ${JSON.stringify(o.reconnectMs)}`);
        let stopping = false;
        await new Promise<void>((resolve) => {
          client.on('close', () => {
            if (stopping || withinMs === 0) return resolve();
            resumeAfterMccd(client, o.workerSocket, { withinMs, say, stopped: () => stopping }).then(
              (back) => {
                if (!back) {
                  client.close();
                  resolve();
                }
              },
            );
          });
          process.once('SIGTERM', () => {
            stopping = true;
            client.close();
            resolve();
          });
          process.once('SIGINT', () => {
            stopping = true;
            client.close();
            resolve();
          });
        });
      }),
    );
}
