import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import type { Command } from 'commander';
import { buildNegotiateRequest, FrameReader, frame, negotiateResponsePull } from '../../wire/index.js';
import { parseHostPort, parsePort, runCommand, UsageError } from '../io.js';

/**
 * `mcc probe`: opens SMB2 channels with one ClientGUID (NEGOTIATE only) to the given addresses and
 * holds them, printing one JSON line per event. An operator checks a node answers; the failover harness
 * and tests use it as a multi-channel client that notices teardown.
 */
export function registerProbeCommand(program: Command): void {
  program
    .command('probe')
    .description(
      'open NEGOTIATE-only SMB2 channels with one ClientGUID and report when they close (JSON lines)',
    )
    .requiredOption(
      '--to <ADDRS>',
      'comma-separated server addresses, one channel each: HOST, HOST:PORT or [IPV6]:PORT',
    )
    .option('--port <PORT>', 'server port where an address names none', '445')
    .option('--guid <GUID>', 'ClientGUID (default: random)')
    .option(
      '--hold <SECONDS>',
      'keep the channels this long, then close them (0: until they close or SIGTERM)',
      '0',
    )
    .action((o: { to: string; port: string; guid?: string; hold: string }) =>
      runCommand('probe', async () => {
        const guid = o.guid ?? randomUUID();
        const defaultPort = parsePort(o.port, '--port');
        const targets = o.to
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
          .map((target) => parseHostPort(target, '--to', defaultPort));
        if (targets.length === 0) throw new UsageError('--to needs at least one address');
        const emit = (event: Record<string, unknown>) =>
          process.stdout.write(`${JSON.stringify({ at: Date.now(), guid, ...event })}\n`);
        const sockets: Socket[] = [];
        const done = targets.map(
          ({ host, port }, index) =>
            new Promise<void>((resolve) => {
              const s = connect(port, host);
              sockets.push(s);
              const reader = new FrameReader();
              s.once('connect', () => s.write(frame(buildNegotiateRequest({ clientGuid: guid }))));
              s.on('data', (d: Buffer) => {
                for (const f of reader.push(d).frames) {
                  const r = negotiateResponsePull(f);
                  emit({
                    event: 'negotiated',
                    channel: index,
                    server: host,
                    local: `${s.localAddress}:${s.localPort}`,
                    dialect: r.ok ? r.value.dialect : null,
                  });
                }
              });
              s.once('error', (e: NodeJS.ErrnoException) =>
                emit({ event: 'error', channel: index, server: host, code: e.code }),
              );
              s.once('close', () => {
                emit({ event: 'closed', channel: index, server: host });
                resolve();
              });
            }),
        );
        const hold = Number(o.hold);
        if (hold > 0) {
          setTimeout(() => {
            for (const s of sockets) s.end();
          }, hold * 1000).unref();
        }
        process.once('SIGTERM', () => {
          for (const s of sockets) s.destroy();
        });
        await Promise.all(done);
        emit({ event: 'all-closed' });
      }),
    );
}
