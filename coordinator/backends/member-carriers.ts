import { addon } from '../../native/addon.js';
import { closeFd, FdSet } from '../../native/index.js';

/** What a member carrier needs: mccd's end of it, open until closed here. */
export interface CarrierEnd {
  fd: number;
  open: boolean;
}

/** The one message a waiting member sends ('R': re-initialised and waiting). */
const READY = 0x52;

/**
 * The smbd pool's member carriers: mccd's end of each member's SEQPACKET carrier (the member's fd 0 is the
 * other), all waited on in one epoll set (native/fd-set.ts). Every connection the pool hands off orders a
 * new member, and a SeqpacketCarrier each (a libuv handle, a JS watcher and an emitter, created and torn
 * down per connection) cost more than the rest of the member's life in mccd.
 */
export class MemberCarriers<M extends CarrierEnd> {
  private readonly set: FdSet;
  private readonly byFd = new Map<number, M>();

  constructor(
    /** The member said it is ready. */
    private readonly onReady: (m: M) => void,
    /** The member's end closed (it died, or its zygote did before forking it) or failed. */
    private readonly onEnd: (m: M) => void,
  ) {
    this.set = new FdSet((fd) => this.readable(fd));
    this.set.unref();
  }

  /**
   * A new carrier: [mccd's end, waited on here once given to add(); the member's end, which the caller
   * sends to the zygote and then closes].
   */
  pair(): [number, number] {
    const [ours, theirs] = addon.seqpacketPair();
    try {
      this.set.add(ours);
    } catch (error) {
      closeFd(ours);
      closeFd(theirs);
      throw error;
    }
    return [ours, theirs];
  }

  /** The member on mccd's end of a pair(): its messages and its end now go to it. */
  add(m: M): void {
    this.byFd.set(m.fd, m);
  }

  /**
   * The client socket to the member; false if it could not go (a fresh carrier has room for its one
   * message, so not sent or failed means the member is spent). The carrier is closed either way it went.
   */
  sendClient(m: M, client: number): boolean {
    let sent = -1;
    try {
      if (m.open) sent = addon.sendFds(m.fd, CLIENT, [client]);
    } catch {
      // as not sent
    }
    if (sent < 0) return false;
    // The member closes its carrier by putting the client socket on fd 0; it now lives on its own.
    this.close(m);
    return true;
  }

  /** Closes mccd's end: a member still waiting sees EOF and exits. */
  close(m: M): void {
    if (!m.open) return;
    m.open = false;
    this.byFd.delete(m.fd);
    this.set.closeFd(m.fd);
  }

  /** Stops waiting on the carriers still open (they are closed by close()). */
  stop(): void {
    this.set.close();
  }

  private readable(fd: number): void {
    const m = this.byFd.get(fd);
    if (!m) return;
    let message: ReturnType<typeof addon.recvFds>;
    try {
      message = addon.recvFds(fd, 64, 1);
    } catch (error) {
      // A truncated message was dropped (its fds closed); any other failure ends the carrier.
      const code = (error as { code?: unknown }).code;
      if (code === 'MSG_CTRUNC' || code === 'MSG_TRUNC') return;
      message = { data: Buffer.alloc(0), fds: [], eof: true };
    }
    if (message === null) return;
    if (message.eof) {
      this.close(m);
      this.onEnd(m);
      return;
    }
    for (const f of message.fds) closeFd(f);
    if (message.data.length === 1 && message.data[0] === READY) this.onReady(m);
  }
}

/** The client socket's message to a member: sent, never changed. */
const CLIENT = Buffer.from('C');
