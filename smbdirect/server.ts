import { closeFd, fdSize, mapShared } from '../native/index.js';
import type { MessageChannel } from './channel.js';
import {
  Flags,
  fillLbuf,
  MAX_LENGTH,
  type Reply,
  type Request,
  replyPush,
  requestPull,
  Status,
} from './protocol.js';
import { checkDescriptors, gather, type Region, scatter } from './regions.js';

/**
 * The test-protocol server. LBUFs ("files") are shared by every connection; memory regions belong to the
 * connection that registered them. A region registered with a memfd is mapped here and read/written in
 * place (shared memory); one registered without an fd is only sized, and its bytes travel inline.
 */
export class SmbdTestServer {
  readonly lbufs = new Map<number, Uint8Array>();
  /** Messages that did not parse (counted, answered with BAD_MESSAGE when possible). */
  badMessages = 0;
  /** Replies that could not be sent (the peer went away first): counted, the connection's own error ends it. */
  replyFailures = 0;

  serve(channel: MessageChannel): void {
    const regions = new Map<number, Region>();
    channel.on('message', (bytes, fds) => {
      const reply = this.handle(bytes, fds, regions);
      if (reply)
        channel.send(replyPush(reply)).catch(() => {
          this.replyFailures++;
        });
    });
    channel.on('error', () => channel.close());
  }

  handle(bytes: Uint8Array, fds: number[], regions: Map<number, Region>): Reply | undefined {
    const parsed = requestPull(bytes);
    if (!parsed.ok) {
      for (const fd of fds) closeFd(fd);
      this.badMessages++;
      const id = bytes.byteLength >= 8 ? new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true) : 0;
      return { op: 'invalidate', id, status: Status.BAD_MESSAGE };
    }
    const req: Request = parsed.value;
    const extraFds = req.op === 'register' ? fds.slice(1) : fds;
    for (const fd of extraFds) closeFd(fd);
    switch (req.op) {
      case 'echo': {
        const total = Math.min(req.maxResponse, req.data.byteLength * req.factor, MAX_LENGTH);
        const data = new Uint8Array(total);
        for (let at = 0; at < total && req.data.byteLength > 0; at += req.data.byteLength)
          data.set(req.data.subarray(0, total - at), at);
        return { op: 'echo', id: req.id, status: Status.OK, data };
      }
      case 'setup-lbuf': {
        if (req.size > MAX_LENGTH) return { op: 'setup-lbuf', id: req.id, status: Status.TOO_LARGE };
        const buf = new Uint8Array(req.size);
        fillLbuf(buf, req.nonce);
        this.lbufs.set(req.lbuf, buf);
        return { op: 'setup-lbuf', id: req.id, status: Status.OK };
      }
      case 'register': {
        const fd = fds[0];
        if (req.size > MAX_LENGTH) {
          if (fd !== undefined) closeFd(fd);
          return { op: 'register', id: req.id, status: Status.TOO_LARGE };
        }
        if (fd === undefined) {
          regions.set(req.rkey, { size: req.size, valid: true });
          return { op: 'register', id: req.id, status: Status.OK };
        }
        try {
          if (fdSize(fd) < req.size)
            return { op: 'register', id: req.id, status: Status.DESCRIPTOR_OUT_OF_REGION };
          regions.set(req.rkey, { size: req.size, valid: true, mem: mapShared(fd).subarray(0, req.size) });
          return { op: 'register', id: req.id, status: Status.OK };
        } catch {
          return { op: 'register', id: req.id, status: Status.BAD_MESSAGE };
        } finally {
          closeFd(fd);
        }
      }
      case 'invalidate': {
        const r = regions.get(req.rkey);
        if (!r) return { op: 'invalidate', id: req.id, status: Status.UNKNOWN_KEY };
        r.valid = false;
        return { op: 'invalidate', id: req.id, status: Status.OK };
      }
      case 'read':
      case 'write': {
        const fail = (status: number): Reply =>
          req.op === 'read'
            ? { op: 'read', id: req.id, status, nread: 0, inline: new Uint8Array(0) }
            : { op: 'write', id: req.id, status, nwritten: 0 };
        const lbuf = this.lbufs.get(req.lbuf);
        if (!lbuf) return fail(Status.NO_SUCH_LBUF);
        if (req.offset + req.length > lbuf.byteLength) return fail(Status.LBUF_RANGE);
        const check = checkDescriptors(regions, req.descs, req.length);
        if (!check.ok) return fail(check.status);
        const shared = check.segments.length > 0 && check.segments[0]!.region.mem !== undefined;
        const slice = lbuf.subarray(req.offset, req.offset + req.length);
        let reply: Reply;
        if (req.op === 'read') {
          if (shared) scatter(check.segments, slice);
          reply = {
            op: 'read',
            id: req.id,
            status: Status.OK,
            nread: req.length,
            inline: shared ? new Uint8Array(0) : slice,
          };
        } else {
          if (shared) gather(check.segments, slice);
          else if (req.inline.byteLength !== req.length) return fail(Status.LENGTH_MISMATCH);
          else slice.set(req.inline);
          reply = { op: 'write', id: req.id, status: Status.OK, nwritten: req.length };
        }
        // SEND_WITH_INV: the keys used are invalid from now on (the remote invalidation RDMA provides).
        if (req.flags & Flags.SEND_WITH_INV) for (const s of check.segments) s.region.valid = false;
        return reply;
      }
    }
  }
}
