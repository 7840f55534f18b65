import { connect as netConnect } from 'node:net';
import { closeFd, connectCarrier, mapShared, memfdCreate, smbdirectProbe } from '../native/index.js';
import { CarrierChannel, type MessageChannel, StreamChannel } from './channel.js';
import {
  type Descriptor,
  Flags,
  type Reply,
  type Request,
  replyPull,
  requestPush,
  Status,
  statusName,
} from './protocol.js';
import { checkDescriptors, gather, type Region, scatter } from './regions.js';

export type TransportKind = 'inline' | 'shm' | 'smbdirect';

export class SmbdTestError extends Error {
  override readonly name = 'SmbdTestError';
  constructor(
    readonly status: number,
    what: string,
  ) {
    super(`${what}: ${statusName(status)}`);
  }
}

/** The transport cannot be used here, with the kernel's reason (e.g. no userspace SMB-Direct socket). */
export class TransportUnavailableError extends Error {
  override readonly name = 'TransportUnavailableError';
}

export interface ClientRegion {
  rkey: number;
  bytes: Uint8Array;
}

/**
 * The test-protocol client. Regions are registered with the server either way: with a memfd over
 * SCM_RIGHTS (shared memory: the server copies straight into them) or by size only (inline: the bytes
 * ride in the messages and are scattered/gathered here). The same descriptor checks run on both sides.
 */
export class SmbdTestClient {
  private nextId = 1;
  private nextKey = 1;
  private readonly pending = new Map<number, (r: Reply) => void>();
  private readonly regions = new Map<number, Region>();
  private closed = false;

  constructor(
    private readonly channel: MessageChannel,
    readonly transport: 'inline' | 'shm',
  ) {
    if (transport === 'shm' && !channel.canPassFds)
      throw new TransportUnavailableError('shared memory needs a SOCK_SEQPACKET channel that can pass fds');
    channel.on('message', (bytes, fds) => {
      for (const fd of fds) closeFd(fd);
      const r = replyPull(bytes);
      if (!r.ok) return;
      const done = this.pending.get(r.value.id);
      this.pending.delete(r.value.id);
      done?.(r.value);
    });
    channel.on('close', () => {
      this.closed = true;
      for (const [, p] of this.pending) p({ op: 'invalidate', id: 0, status: Status.BAD_MESSAGE });
      this.pending.clear();
    });
  }

  static async connect(options: {
    transport: TransportKind;
    host?: string;
    port?: number;
    path?: string;
  }): Promise<SmbdTestClient> {
    if (options.transport === 'smbdirect') {
      const probe = smbdirectProbe();
      if (!probe.available)
        throw new TransportUnavailableError(`no userspace SMB-Direct socket on this kernel: ${probe.reason}`);
      throw new TransportUnavailableError(
        'an SMB-Direct socket exists but this build has no driver binding for it yet',
      );
    }
    if (options.transport === 'shm') {
      if (!options.path)
        throw new TransportUnavailableError('shared memory needs --path (a unix SOCK_SEQPACKET socket)');
      return new SmbdTestClient(
        new CarrierChannel(connectCarrier(options.path, { maxBytes: 2 * 1024 * 1024, maxFds: 4 })),
        'shm',
      );
    }
    // Inline data travels over TCP, as SMB over TCP does; `path` names the shared-memory server's socket.
    const socket = netConnect(options.port ?? 5445, options.host ?? '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new SmbdTestClient(new StreamChannel(socket), 'inline');
  }

  async request(req: Request, fds: number[] = []): Promise<Reply> {
    if (this.closed) throw new Error('connection closed');
    const answer = new Promise<Reply>((resolve) => this.pending.set(req.id, resolve));
    await this.channel.send(requestPush(req), fds);
    return answer;
  }

  private id(): number {
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    return id;
  }

  async echo(data: Uint8Array, factor = 1, maxResponse = 1 << 20): Promise<Uint8Array> {
    const r = await this.request({ op: 'echo', id: this.id(), factor, maxResponse, data });
    if (r.status !== Status.OK || r.op !== 'echo') throw new SmbdTestError(r.status, 'ECHO');
    return r.data;
  }

  async setupLbuf(lbuf: number, size: number, nonce: bigint): Promise<void> {
    const r = await this.request({ op: 'setup-lbuf', id: this.id(), lbuf, size, nonce });
    if (r.status !== Status.OK) throw new SmbdTestError(r.status, 'SETUP-LBUF');
  }

  async registerRegion(size: number): Promise<ClientRegion> {
    const rkey = this.nextKey++;
    let bytes: Uint8Array;
    let fds: number[] = [];
    if (this.transport === 'shm') {
      const fd = memfdCreate(`mcc-region-${rkey}`, Math.max(size, 1));
      bytes = mapShared(fd).subarray(0, size);
      fds = [fd];
    } else {
      bytes = new Uint8Array(size);
    }
    try {
      const r = await this.request({ op: 'register', id: this.id(), rkey, size }, fds);
      if (r.status !== Status.OK) throw new SmbdTestError(r.status, 'REGISTER');
    } finally {
      for (const fd of fds) closeFd(fd);
    }
    this.regions.set(rkey, { size, valid: true, mem: bytes });
    return { rkey, bytes };
  }

  async invalidate(rkey: number): Promise<void> {
    const r = await this.request({ op: 'invalidate', id: this.id(), rkey });
    const local = this.regions.get(rkey);
    if (local) local.valid = false;
    if (r.status !== Status.OK) throw new SmbdTestError(r.status, 'INVALIDATE');
  }

  /** READ-LBUF-TO-DESCS: the server puts LBUF bytes into our regions. Returns nread. */
  async read(lbuf: number, offset: number, length: number, descs: Descriptor[], flags = 0): Promise<number> {
    const r = await this.request({ op: 'read', id: this.id(), lbuf, flags, offset, length, descs });
    if (r.op !== 'read' || r.status !== Status.OK) throw new SmbdTestError(r.status, 'READ-LBUF-TO-DESCS');
    if (this.transport === 'inline') {
      const check = checkDescriptors(this.regions, descs, length);
      if (!check.ok) throw new SmbdTestError(check.status, `READ-LBUF-TO-DESCS (local): ${check.detail}`);
      if (r.inline.byteLength !== length)
        throw new SmbdTestError(Status.LENGTH_MISMATCH, 'READ-LBUF-TO-DESCS inline data');
      scatter(check.segments, r.inline);
    }
    this.afterSendWithInv(descs, flags);
    return r.nread;
  }

  /** WRITE-DESCS-TO-LBUF: the server takes bytes from our regions into the LBUF. Returns nwritten. */
  async write(lbuf: number, offset: number, length: number, descs: Descriptor[], flags = 0): Promise<number> {
    let inline = new Uint8Array(0);
    if (this.transport === 'inline') {
      const check = checkDescriptors(this.regions, descs, length);
      // Send what we can; the server's own check gives the authoritative status.
      if (check.ok) {
        inline = new Uint8Array(length);
        gather(check.segments, inline);
      }
    }
    const r = await this.request({ op: 'write', id: this.id(), lbuf, flags, offset, length, descs, inline });
    if (r.op !== 'write' || r.status !== Status.OK) throw new SmbdTestError(r.status, 'WRITE-DESCS-TO-LBUF');
    this.afterSendWithInv(descs, flags);
    return r.nwritten;
  }

  close(): void {
    this.channel.close();
  }

  private afterSendWithInv(descs: Descriptor[], flags: number): void {
    if (!(flags & Flags.SEND_WITH_INV)) return;
    for (const d of descs) {
      const region = this.regions.get(d.rkey);
      if (region) region.valid = false;
    }
  }
}
