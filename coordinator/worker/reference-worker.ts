import { randomBytes, randomUUID } from 'node:crypto';
import { ByteWriter } from '../../wire/cursor.js';
import { Smb2GlobalCapabilities } from '../../wire/smb2/dialects.js';
import { echoResponsePush } from '../../wire/smb2/echo.js';
import {
  responseHeaderFor,
  SMB2_HEADER_LEN,
  Smb2Command,
  type Smb2Header,
  smb2HeaderPull,
  smb2HeaderPush,
} from '../../wire/smb2/header.js';
import {
  FSCTL_QUERY_NETWORK_INTERFACE_INFO,
  ioctlRequestPull,
  ioctlResponsePush,
  NO_FILE_ID,
} from '../../wire/smb2/ioctl.js';
import { negotiateRequestPull } from '../../wire/smb2/negotiate.js';
import { fileTime, negotiateResponsePush } from '../../wire/smb2/negotiate-response.js';
import { FrameReader, frame } from '../../wire/smb2/transport.js';
import { type ChannelHandoff, WorkerClient } from './client.js';

/**
 * The reference worker: answers NEGOTIATE with a valid SMB2 NEGOTIATE response (highest common dialect,
 * 3.1.1 preauth/encryption contexts), answers ECHO and FSCTL_QUERY_NETWORK_INTERFACE_INFO (mccd's list), refuses everything else with STATUS_NOT_SUPPORTED,
 * and keeps every channel open until the client or mccd ends it. Used by tests, benchmarks and the
 * failover harness in place of smbd.
 */
const SUPPORTED = [0x0311, 0x0302, 0x0300, 0x0210, 0x0202];
const STATUS_NOT_SUPPORTED = 0xc00000bb;

/** An ERROR response (StructureSize 9, no error data) with STATUS_NOT_SUPPORTED. */
function notSupported(req: Smb2Header): Uint8Array {
  const body = Uint8Array.of(9, 0, 0, 0, 0, 0, 0, 0, 0);
  const w = new ByteWriter(SMB2_HEADER_LEN + body.byteLength);
  smb2HeaderPush(responseHeaderFor(req, STATUS_NOT_SUPPORTED), w);
  w.set(SMB2_HEADER_LEN, body);
  return w.bytes;
}

export function negotiateAnswer(
  message: Uint8Array,
  serverGuid: string,
  startTime: number,
): { bytes: Uint8Array; dialect: number } | undefined {
  const parsed = negotiateRequestPull(message);
  if (!parsed.ok) return undefined;
  const req = parsed.value;
  const dialect = SUPPORTED.find((d) => req.dialects.includes(d));
  if (dialect === undefined) return undefined;
  const contexts =
    dialect === 0x0311
      ? [
          // SHA-512, 32-byte salt.
          { type: 1, data: Buffer.concat([Buffer.from([1, 0, 32, 0, 1, 0]), randomBytes(32)]) },
          ...(req.negotiateContexts?.some((c) => c.type === 2)
            ? [{ type: 2, data: Buffer.from([1, 0, 1, 0]) }]
            : []),
        ]
      : [];
  const bytes = negotiateResponsePush({
    header: responseHeaderFor(req.header),
    securityMode: 1,
    dialect,
    serverGuid,
    capabilities:
      dialect >= 0x0300 ? Smb2GlobalCapabilities.LARGE_MTU | Smb2GlobalCapabilities.MULTI_CHANNEL : 0,
    maxTransactSize: 8 * 1024 * 1024,
    maxReadSize: 8 * 1024 * 1024,
    maxWriteSize: 8 * 1024 * 1024,
    systemTime: fileTime(Date.now()),
    serverStartTime: fileTime(startTime),
    securityBuffer: new Uint8Array(0),
    negotiateContexts: contexts,
  });
  return { bytes, dialect };
}

function isInterfaceQuery(message: Uint8Array): boolean {
  const req = ioctlRequestPull(message);
  return req.ok && req.value.ctlCode === FSCTL_QUERY_NETWORK_INTERFACE_INFO;
}

/**
 * FSCTL_QUERY_NETWORK_INTERFACE_INFO answered with mccd's list for the address the client reached (public
 * IPs filtered out). Real smbd wants a session and a tree first; the reference worker has neither.
 */
function answerInterfaceQuery(client: WorkerClient, channel: ChannelHandoff, h: Smb2Header): void {
  client.interfaces(channel.local.address).then(
    (list) => {
      if (channel.socket.destroyed) return;
      channel.socket.write(
        frame(
          ioctlResponsePush({
            header: responseHeaderFor(h),
            ctlCode: FSCTL_QUERY_NETWORK_INTERFACE_INFO,
            fileId: NO_FILE_ID,
            input: new Uint8Array(0),
            output: list,
            flags: 0,
          }),
        ),
      );
    },
    () => {
      if (channel.socket.destroyed) return;
      channel.socket.write(frame(notSupported(h)));
    },
  );
}

export function serveChannel(
  client: WorkerClient,
  channel: ChannelHandoff,
  serverGuid: string,
  startTime: number,
): void {
  const reader = new FrameReader({ maxFrame: 1 << 20 });
  channel.socket.on('data', (chunk: Buffer) => {
    const { frames, error } = reader.push(chunk);
    for (const message of frames) {
      const header = smb2HeaderPull(message);
      if (!header.ok) continue;
      const h = header.value;
      if (h.command === Smb2Command.NEGOTIATE) {
        const answer = negotiateAnswer(message, serverGuid, startTime);
        if (!answer) {
          channel.socket.destroy();
          return;
        }
        channel.socket.write(frame(answer.bytes));
        client.reportNegotiated(channel.clientGuid, channel.channelId, answer.dialect);
      } else if (h.command === Smb2Command.ECHO) {
        channel.socket.write(frame(echoResponsePush(h)));
      } else if (h.command === Smb2Command.IOCTL && isInterfaceQuery(message)) {
        answerInterfaceQuery(client, channel, h);
      } else {
        channel.socket.write(frame(notSupported(h)));
      }
    }
    if (error) channel.socket.destroy();
  });
}

export async function runReferenceWorker(
  socketPath: string,
  workerId = `ref-${process.pid}`,
): Promise<WorkerClient> {
  const client = await WorkerClient.connect(socketPath, workerId);
  const serverGuid = randomUUID();
  const startTime = Date.now();
  client.on('channel', (c) => serveChannel(client, c, serverGuid, startTime));
  client.on('sendFailed', (f) =>
    process.stderr.write(`mcc worker ${workerId}: sending ${f.what} to mccd failed: ${f.error.message}\n`),
  );
  return client;
}

/**
 * Rides out a restart of mccd: when mccd goes away the channels stay open and the worker registers with
 * the next mccd as resuming, reporting them (`held`), retrying every `retryMs` for at most `withinMs`.
 * Resolves false when mccd did not come back in time (the caller closes everything and exits).
 */
export async function resumeAfterMccd(
  client: WorkerClient,
  socketPath: string,
  options: { withinMs: number; retryMs?: number; say?: (line: string) => void; stopped?: () => boolean },
): Promise<boolean> {
  const say = options.say ?? (() => undefined);
  const deadline = Date.now() + options.withinMs;
  say(
    `mccd went away: keeping ${client.channelCount()} channel(s), re-registering for up to ${options.withinMs} ms`,
  );
  let last = '';
  while (Date.now() < deadline) {
    if (options.stopped?.()) return false;
    try {
      const r = await client.resume(socketPath, Math.max(100, Math.min(2000, deadline - Date.now())));
      say(
        `re-registered with mccd (node ${client.pnn}): reported ${r.channels} channel(s) of ${r.clients} client(s)`,
      );
      return true;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, options.retryMs ?? 100));
  }
  say(`mccd did not come back within ${options.withinMs} ms (${last}): closing every channel`);
  return false;
}
