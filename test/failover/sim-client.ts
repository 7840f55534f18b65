import { connect, type Socket } from 'node:net';
import { apiGet } from '../../cli/api-client.js';
import {
  buildNegotiateRequest,
  echoRequestPush,
  FrameReader,
  FSCTL_QUERY_NETWORK_INTERFACE_INFO,
  frame,
  interfaceInfoPull,
  ioctlRequestPush,
  ioctlResponsePull,
  NO_FILE_ID,
  negotiateResponsePull,
  requestHeader,
  Smb2Command,
  smb2HeaderPull,
} from '../../wire/index.js';

/**
 * One simulated multi-channel SMB3 client, as Windows behaves towards a CTDB cluster: it reaches the
 * cluster through its public IP, learns the node's interfaces, opens a channel to each announced address
 * with the same ClientGUID, keeps every channel busy with ECHO, and when the server tears it down (or its
 * echoes go unanswered) it starts over on the public IP, which by then may live on another node.
 *
 * Channels are NEGOTIATE-level: mccd routes and smbd gathers a client's connections by ClientGUID at
 * NEGOTIATE, which is the part of binding mcc is responsible for. Session setup is not done (binding a
 * session needs signing keys from real authentication).
 */
export interface SimClientSpec {
  id: string;
  guid: string;
  publicIp: string;
}

export interface SimClientTiming {
  echoIntervalMs: number;
  /** An echo unanswered this long counts as a dead channel (how a partitioned node is noticed). */
  echoTimeoutMs: number;
  /** After the first channel closes, how long the server has to close the others. */
  teardownGraceMs: number;
  connectTimeoutMs: number;
}

export type InterfaceSource = { kind: 'fsctl' } | { kind: 'api'; sockets: string[] };

export type SimClientEvent =
  | { event: 'announced'; source: 'fsctl' | 'api'; addresses: string[] }
  | { event: 'bound'; channels: { server: string; local: string }[] }
  | {
      event: 'torn-down';
      cause: 'server' | 'echo-timeout';
      /** Every channel was closed by the server within the grace period. */
      complete: boolean;
      firstCloseAt: number;
      lastCloseAt: number;
      closed: number;
      of: number;
    }
  | { event: 'connect-failed'; error: string };

interface Channel {
  server: string;
  socket: Socket;
  reader: FrameReader;
  nextMessageId: bigint;
  echoSentAt: number | undefined;
  closedAt: number | undefined;
  /** Closed by us (cleanup), not by the server. */
  ours: boolean;
  pending: Map<bigint, (message: Uint8Array) => void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class SimClient {
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(
    readonly spec: SimClientSpec,
    private readonly port: number,
    private readonly source: InterfaceSource,
    private readonly timing: SimClientTiming,
    private readonly emit: (e: SimClientEvent) => void,
  ) {}

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /** Connect, hold, notice teardown, reconnect — until stop(). Backoff 100 ms doubling to 1 s. */
  async run(): Promise<void> {
    let backoff = 100;
    while (!this.stopped) {
      let channels: Channel[] = [];
      try {
        channels = await this.connectAll();
        backoff = 100;
        this.emit({
          event: 'bound',
          channels: channels.map((c) => ({
            server: c.server,
            local: `${c.socket.localAddress}:${c.socket.localPort}`,
          })),
        });
        const end = await this.hold(channels);
        if (end) this.emit(end);
      } catch (error) {
        this.emit({ event: 'connect-failed', error: (error as Error).message });
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 1000);
      } finally {
        for (const c of channels) this.close(c);
      }
    }
  }

  private async connectAll(): Promise<Channel[]> {
    const opened: Channel[] = [];
    try {
      const first = await this.open(this.spec.publicIp);
      opened.push(first);
      const addresses = await this.learn(first);
      for (const address of addresses) {
        if (address === this.spec.publicIp) continue;
        opened.push(await this.open(address));
      }
      return opened;
    } catch (error) {
      for (const c of opened) this.close(c);
      throw error;
    }
  }

  private async learn(first: Channel): Promise<string[]> {
    let addresses: string[];
    if (this.source.kind === 'fsctl') {
      const answer = await this.request(
        first,
        ioctlRequestPush({
          header: requestHeader(Smb2Command.IOCTL, first.nextMessageId),
          ctlCode: FSCTL_QUERY_NETWORK_INTERFACE_INFO,
          fileId: NO_FILE_ID,
          input: new Uint8Array(0),
          maxInputResponse: 0,
          maxOutputResponse: 64 * 1024,
          flags: 1,
        }),
      );
      const response = ioctlResponsePull(answer);
      if (!response.ok) throw new Error(`FSCTL answer: ${response.error.message}`);
      if (response.value.header.status !== 0)
        throw new Error(`FSCTL answered status 0x${response.value.header.status.toString(16)}`);
      const list = interfaceInfoPull(response.value.output);
      if (!list.ok) throw new Error(`NETWORK_INTERFACE_INFO: ${list.error.message}`);
      addresses = list.value.map((e) => e.address);
    } else {
      addresses = await this.learnFromApi(first);
    }
    this.emit({ event: 'announced', source: this.source.kind, addresses });
    return [...new Set(addresses)];
  }

  /**
   * The node that accepted our first channel (its mccd lists our port) tells us its interfaces, as smbd's
   * FSCTL answer on that channel would. Asking "who holds the public IP" instead could name a node that
   * still has the address on its interface after its ctdbd died.
   */
  private async learnFromApi(first: Channel): Promise<string[]> {
    if (this.source.kind !== 'api') return [];
    const port = first.socket.localPort;
    for (const socketPath of this.source.sockets) {
      const rows = await apiGet<{ clientPort: number; clientGuid: string }[]>(
        { socketPath },
        '/v1/channels',
        2000,
      ).catch(() => []);
      if (!rows.some((r) => r.clientPort === port && r.clientGuid === this.spec.guid)) continue;
      const r = await apiGet<{ announced: { address: string }[] }>({ socketPath }, '/v1/interfaces', 2000);
      return r.announced.map((a) => a.address);
    }
    throw new Error(`no mccd lists our channel to ${this.spec.publicIp} (port ${port})`);
  }

  private open(server: string): Promise<Channel> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port: this.port, host: server, noDelay: true });
      const channel: Channel = {
        server,
        socket,
        reader: new FrameReader({ maxFrame: 1 << 20 }),
        nextMessageId: 1n,
        echoSentAt: undefined,
        closedAt: undefined,
        ours: false,
        pending: new Map(),
      };
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`${server}: no NEGOTIATE answer within ${this.timing.connectTimeoutMs} ms`));
      }, this.timing.connectTimeoutMs);
      socket.on('error', () => undefined);
      socket.once('close', () => {
        channel.closedAt = Date.now();
        clearTimeout(timer);
        reject(new Error(`${server}: closed before NEGOTIATE completed`));
      });
      socket.on('data', (chunk: Buffer) => {
        const { frames, error } = channel.reader.push(chunk);
        for (const f of frames) {
          const h = smb2HeaderPull(f);
          if (!h.ok) continue;
          const waiter = channel.pending.get(h.value.messageId);
          channel.pending.delete(h.value.messageId);
          waiter?.(f);
        }
        if (error) socket.destroy();
      });
      socket.once('connect', () => {
        channel.pending.set(0n, (f) => {
          clearTimeout(timer);
          const r = negotiateResponsePull(f);
          if (!r.ok || r.value.header.status !== 0) {
            socket.destroy();
            reject(new Error(`${server}: bad NEGOTIATE answer`));
            return;
          }
          resolve(channel);
        });
        socket.write(frame(buildNegotiateRequest({ clientGuid: this.spec.guid })));
      });
    });
  }

  private request(channel: Channel, message: Uint8Array): Promise<Uint8Array> {
    const id = channel.nextMessageId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        channel.pending.delete(id);
        reject(new Error(`${channel.server}: no answer to message ${id}`));
      }, this.timing.connectTimeoutMs);
      channel.pending.set(id, (f) => {
        clearTimeout(timer);
        resolve(f);
      });
      channel.socket.write(frame(message));
    });
  }

  /**
   * Keeps the channels busy until the first one dies, then gives the server the grace period to close the
   * rest: a complete teardown is the one mcc promises. Returns undefined when stopped.
   */
  private async hold(
    channels: Channel[],
  ): Promise<Extract<SimClientEvent, { event: 'torn-down' }> | undefined> {
    let cause: 'server' | 'echo-timeout' | undefined;
    let firstCloseAt = 0;
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      const onClose = () => {
        if (cause) return;
        cause = 'server';
        firstCloseAt = Date.now();
        resolve();
      };
      for (const c of channels) {
        c.socket.removeAllListeners('close');
        c.socket.once('close', () => {
          c.closedAt = Date.now();
          if (!c.ours) onClose();
        });
        if (c.socket.destroyed) onClose();
      }
      const ticker = setInterval(() => {
        const now = Date.now();
        for (const c of channels) {
          if (c.closedAt !== undefined) continue;
          if (c.echoSentAt !== undefined && now - c.echoSentAt > this.timing.echoTimeoutMs && !cause) {
            cause = 'echo-timeout';
            firstCloseAt = now;
            clearInterval(ticker);
            resolve();
            return;
          }
          if (c.echoSentAt === undefined) {
            c.echoSentAt = now;
            const id = c.nextMessageId++;
            c.pending.set(id, () => {
              c.echoSentAt = undefined;
            });
            c.socket.write(frame(echoRequestPush(id)));
          }
        }
      }, this.timing.echoIntervalMs);
      this.wake = () => {
        clearInterval(ticker);
        resolve();
      };
      const stopTicker = () => clearInterval(ticker);
      for (const c of channels) c.socket.once('close', stopTicker);
    });
    this.wake = undefined;
    if (this.stopped || !cause) return undefined;
    if (cause === 'server') {
      const deadline = Date.now() + this.timing.teardownGraceMs;
      while (Date.now() < deadline && channels.some((c) => c.closedAt === undefined)) await sleep(10);
    }
    const closedByServer = channels.filter((c) => c.closedAt !== undefined && !c.ours);
    return {
      event: 'torn-down',
      cause,
      complete: cause === 'server' && closedByServer.length === channels.length,
      firstCloseAt,
      lastCloseAt: Math.max(firstCloseAt, ...closedByServer.map((c) => c.closedAt!)),
      closed: closedByServer.length,
      of: channels.length,
    };
  }

  private close(c: Channel): void {
    if (c.socket.destroyed) return;
    c.ours = true;
    c.socket.destroy();
  }
}
