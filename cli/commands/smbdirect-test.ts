import { createServer } from 'node:net';
import type { Command } from 'commander';
import { SeqpacketServer } from '../../native/index.js';
import {
  CarrierChannel,
  SmbdTestClient,
  SmbdTestServer,
  StreamChannel,
  type TransportKind,
} from '../../smbdirect/index.js';
import { runLoad } from '../../smbdirect/load.js';
import { parseHostPort, printJson, runCommand, UsageError } from '../io.js';

export function registerSmbdirectTestCommand(program: Command): void {
  const cmd = program
    .command('smbdirect-test')
    .description('the standalone SMB-Direct test protocol (ECHO, LBUF reads and writes through descriptors)');

  cmd
    .command('server')
    .description('serve the test protocol: inline over TCP, shared memory over a unix SOCK_SEQPACKET socket')
    .option('--tcp <HOST:PORT>', 'TCP listener (inline transport)', '127.0.0.1:5445')
    .option('--unix <PATH>', 'unix SOCK_SEQPACKET listener (shared-memory transport)')
    .action((o: { tcp: string; unix?: string }) =>
      runCommand('smbdirect-test server', async () => {
        const server = new SmbdTestServer();
        const { host, port } = parseHostPort(o.tcp, '--tcp');
        const tcp = createServer((s) => server.serve(new StreamChannel(s)));
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(port, host, resolve);
        });
        const unix = o.unix
          ? new SeqpacketServer(o.unix, { maxBytes: 2 * 1024 * 1024, maxFds: 4 })
          : undefined;
        unix?.on('connection', (c) => server.serve(new CarrierChannel(c)));
        process.stderr.write(
          `smbdirect-test server: inline on ${host}:${port}${o.unix ? `, shared memory on ${o.unix}` : ''}\n`,
        );
        await new Promise<void>((resolve) => {
          process.once('SIGTERM', resolve);
          process.once('SIGINT', resolve);
        });
        tcp.close();
        unix?.close();
      }),
    );

  cmd
    .command('client')
    .description('run ECHO or LBUF operations and print throughput, latency and CPU per byte')
    .option('--transport <KIND>', 'inline | shm | smbdirect', 'inline')
    .option('--tcp <HOST:PORT>', 'server for inline', '127.0.0.1:5445')
    .option('--path <PATH>', 'server socket for shm')
    .option('--mode <MODE>', 'echo | read | write', 'read')
    .option('--size <BYTES>', 'bytes per operation', '65536')
    .option('--count <N>', 'operations at most', '1000')
    .option('--seconds <S>', 'time limit', '5')
    .option('--verify', 'check every byte read against the nonce pattern (echo: against what was sent)')
    .option('--json', 'JSON output')
    .action(
      (o: {
        transport: string;
        tcp: string;
        path?: string;
        mode: string;
        size: string;
        count: string;
        seconds: string;
        verify?: boolean;
        json?: boolean;
      }) =>
        runCommand('smbdirect-test client', async () => {
          if (!['inline', 'shm', 'smbdirect'].includes(o.transport))
            throw new UsageError('--transport must be inline, shm or smbdirect');
          if (!['echo', 'read', 'write'].includes(o.mode))
            throw new UsageError('--mode must be echo, read or write');
          const { host, port } = parseHostPort(o.tcp, '--tcp');
          const client = await SmbdTestClient.connect({
            transport: o.transport as TransportKind,
            host,
            port,
            ...(o.path ? { path: o.path } : {}),
          });
          try {
            const r = await runLoad(client, {
              op: o.mode as 'echo' | 'read' | 'write',
              size: Number(o.size),
              count: Number(o.count),
              durationMs: Number(o.seconds) * 1000,
              verify: o.verify === true,
            });
            if (o.json) printJson(r);
            else {
              process.stdout.write(
                `${r.transport} ${r.op} ${r.size} B × ${r.ops}: ${r.mbPerSec.toFixed(1)} MB/s, p50 ${r.latencyUs.p50.toFixed(0)} µs, p99 ${r.latencyUs.p99.toFixed(0)} µs, ${r.cpuNsPerByte.toFixed(3)} ns CPU/byte${r.verified === undefined ? '' : r.verified ? ', every byte verified' : `, ${r.mismatches} MISMATCHES`}\n`,
              );
            }
            if (r.verified === false) process.exitCode = 1;
          } finally {
            client.close();
          }
        }),
    );
}
