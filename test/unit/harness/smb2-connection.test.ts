import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter } from '../../../wire/cursor.js';
import { echoRequestPush } from '../../../wire/smb2/echo.js';
import {
  SMB2_HEADER_LEN,
  Smb2Flags,
  type Smb2Header,
  smb2HeaderPullFrom,
  smb2HeaderPush,
} from '../../../wire/smb2/header.js';
import { FrameReader, frame } from '../../../wire/smb2/transport.js';
import {
  Smb2Connection,
  Smb2ConnectionError,
  UNSOLICITED_MESSAGE_ID,
} from '../../harness/smb2/connection.js';

/**
 * The probe's connection layer against a scripted loopback peer: only framing, MessageIds, credits and
 * the interim/unsolicited rules are under test here (the real smbd is the peer test's job).
 */
let server: Server | undefined;

afterEach(() => {
  server?.close();
  server = undefined;
});

/** A loopback server handing each request header to `onRequest`, which may answer with raw messages. */
async function peer(onRequest: (header: Smb2Header, socket: Socket) => void): Promise<number> {
  server = createServer((socket) => {
    const reader = new FrameReader();
    socket.on('data', (chunk) => {
      for (const m of reader.push(new Uint8Array(chunk)).frames)
        onRequest(smb2HeaderPullFrom(new ByteReader(m)), socket);
    });
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

/** An ECHO response with exactly the header fields given (echoResponsePush would grant ≥ 1 credit). */
function answer(request: Smb2Header, extra: Partial<Smb2Header> = {}): Uint8Array {
  const w = new ByteWriter(SMB2_HEADER_LEN + 4);
  smb2HeaderPush({ ...request, flags: Smb2Flags.SERVER_TO_REDIR, status: 0, credits: 1, ...extra }, w);
  w.u16(SMB2_HEADER_LEN, 4);
  return frame(w.bytes);
}

describe('Smb2Connection', () => {
  it('numbers requests from 0, matches answers by MessageId, and waits for credits it lacks', async () => {
    const seen: bigint[] = [];
    const held = new Map<bigint, Smb2Header>();
    let socketOf: Socket | undefined;
    const port = await peer((h, socket) => {
      socketOf = socket;
      seen.push(h.messageId);
      // The first answer grants 2 credits; later requests are held and answered by the test.
      if (h.messageId === 0n) socket.write(answer(h, { credits: 2 }));
      else held.set(h.messageId, h);
    });
    const c = await Smb2Connection.open('127.0.0.1', port, 2000);
    const first = await c.request((id, credits) => echoRequestPush(id, { credits }));
    expect(first.header.messageId).toBe(0n);
    const replies = [1, 2, 3].map(() => c.request((id, credits) => echoRequestPush(id, { credits })));
    const settle = () => new Promise((r) => setTimeout(r, 50));
    await settle();
    expect(seen).toEqual([0n, 1n, 2n]);
    // An answer granting no credit releases nothing; one granting a credit lets MessageId 3 go.
    socketOf!.write(answer(held.get(2n)!, { credits: 0 }));
    await settle();
    expect(seen).toEqual([0n, 1n, 2n]);
    socketOf!.write(answer(held.get(1n)!, { credits: 1 }));
    await settle();
    expect(seen).toEqual([0n, 1n, 2n, 3n]);
    socketOf!.write(answer(held.get(3n)!, { credits: 1 }));
    expect((await Promise.all(replies)).map((r) => r.header.messageId)).toEqual([1n, 2n, 3n]);
    c.destroy('test over');
    expect(await c.closed).toBe('test over');
    await expect(c.request((id) => echoRequestPush(id))).rejects.toThrow(/test over/);
  });

  it('ignores interim STATUS_PENDING answers and resolves with the final one', async () => {
    const port = await peer((h, socket) => {
      const interim = {
        status: 0x103,
        flags: Smb2Flags.SERVER_TO_REDIR | Smb2Flags.ASYNC_COMMAND,
        asyncId: 7n,
      };
      socket.write(answer(h, { ...interim, credits: 4 }));
      setTimeout(() => socket.write(answer(h, { status: 0xc0000034, credits: 0 })), 20);
    });
    const c = await Smb2Connection.open('127.0.0.1', port, 2000);
    const reply = await c.request((id, credits) => echoRequestPush(id, { credits }));
    expect(reply.header.status >>> 0).toBe(0xc0000034);
    // The interim answer's 4 credits count: three more requests go out without waiting.
    const more = await Promise.all([1, 2, 3].map(() => c.request((id) => echoRequestPush(id))));
    expect(more.map((r) => r.header.messageId)).toEqual([1n, 2n, 3n]);
    c.destroy();
  });

  it('reports server-initiated messages (oplock breaks) as unsolicited, not as answers', async () => {
    const port = await peer((h, socket) => {
      socket.write(answer(h, { messageId: UNSOLICITED_MESSAGE_ID, credits: 0 }));
      socket.write(answer(h));
    });
    const c = await Smb2Connection.open('127.0.0.1', port, 2000);
    const unsolicited = once(c, 'unsolicited');
    const reply = await c.request((id, credits) => echoRequestPush(id, { credits }));
    expect(reply.header.messageId).toBe(0n);
    const [msg] = (await unsolicited) as [{ header: Smb2Header }];
    expect(msg.header.messageId).toBe(UNSOLICITED_MESSAGE_ID);
    c.destroy();
  });

  it('bounds every request by its timeout', async () => {
    const port = await peer(() => undefined);
    const c = await Smb2Connection.open('127.0.0.1', port, 100);
    await expect(c.request((id) => echoRequestPush(id))).rejects.toThrow(
      /no answer to MessageId 0 within 100 ms/,
    );
    c.destroy();
  });

  it('fails waiting requests with the reason when the server resets the connection', async () => {
    const port = await peer((_h, socket) => socket.resetAndDestroy());
    const c = await Smb2Connection.open('127.0.0.1', port, 2000);
    await expect(c.request((id) => echoRequestPush(id))).rejects.toThrow(/ECONNRESET/);
    expect(await c.closed).toMatch(/socket error: ECONNRESET/);
  });

  it('drops a connection whose peer sends bytes that are not SMB2', async () => {
    const port = await peer((_h, socket) => socket.write(Uint8Array.of(0x85, 0, 0, 0)));
    const c = await Smb2Connection.open('127.0.0.1', port, 2000);
    await expect(c.request((id) => echoRequestPush(id))).rejects.toThrow(/bad frame from the server/);
  });

  it('reports a refused TCP connect as Smb2ConnectionError', async () => {
    const port = await peer(() => undefined);
    server!.close();
    await once(server!, 'close');
    await expect(Smb2Connection.open('127.0.0.1', port, 2000)).rejects.toBeInstanceOf(Smb2ConnectionError);
  });
});
