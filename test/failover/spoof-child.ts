import { connect } from 'node:net';
import {
  buildNegotiateRequest,
  Dialect,
  FrameReader,
  frame,
  negotiateResponsePull,
} from '../../wire/index.js';

/**
 * Someone who has seen a victim's ClientGUID, on the clients' side of the failover harness: `connections`
 * connections to `server` at once, each sending a NEGOTIATE with that GUID (SMB 2.0.2 only, or every
 * dialect up to 3.1.1 as a real client offers), held `holdMs` after the answer and then closed in order
 * (FIN). Bounded: every connection ends by `holdMs` + 10 s.
 *
 * node spoof-child.js '{"server":"10.0.0.1","port":445,"guid":"…","dialect":"3.1.1","connections":1,"holdMs":1000}'
 * → one JSON line: { answered, statuses: { "0x…": n }, failed: { reason: n }, closedByServer }.
 */
const args = JSON.parse(process.argv[2] ?? '{}') as {
  server: string;
  port: number;
  guid: string;
  dialect: '2.0.2' | '3.1.1';
  connections: number;
  holdMs: number;
  localAddress?: string;
};

interface Outcome {
  status?: number;
  failed?: string;
  closedByServer: boolean;
}

function one(): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = connect({
      host: args.server,
      port: args.port,
      ...(args.localAddress ? { localAddress: args.localAddress } : {}),
    });
    const reader = new FrameReader();
    let status: number | undefined;
    let ours = false;
    const done = (o: Outcome) => {
      clearTimeout(deadline);
      resolve(o);
    };
    const deadline = setTimeout(() => {
      ours = true;
      s.destroy();
      done({ failed: 'timeout', closedByServer: false });
    }, args.holdMs + 10_000);
    s.on('error', () => undefined);
    s.once('connect', () =>
      s.write(
        frame(
          buildNegotiateRequest({
            clientGuid: args.guid,
            ...(args.dialect === '2.0.2' ? { dialects: [Dialect.SMB2_02] } : {}),
          }),
        ),
      ),
    );
    s.on('data', (d: Buffer) => {
      const first = reader.push(d).frames[0];
      if (first === undefined || status !== undefined) return;
      const parsed = negotiateResponsePull(first);
      status = parsed.ok ? parsed.value.header.status : -1;
      // Held, then an orderly close: the FIN a client's own close sends.
      setTimeout(() => {
        ours = true;
        s.end();
      }, args.holdMs);
    });
    s.once('close', () =>
      done(
        status === undefined
          ? { failed: 'closed before an answer', closedByServer: !ours }
          : { status, closedByServer: !ours },
      ),
    );
  });
}

const outcomes = await Promise.all(Array.from({ length: args.connections }, one));
const statuses: Record<string, number> = {};
const failed: Record<string, number> = {};
for (const o of outcomes) {
  if (o.status !== undefined) {
    const key = `0x${(o.status >>> 0).toString(16).padStart(8, '0')}`;
    statuses[key] = (statuses[key] ?? 0) + 1;
  }
  if (o.failed) failed[o.failed] = (failed[o.failed] ?? 0) + 1;
}
console.log(
  JSON.stringify({
    answered: outcomes.filter((o) => o.status !== undefined).length,
    statuses,
    failed,
    closedByServer: outcomes.filter((o) => o.closedByServer).length,
  }),
);
process.exit(0);
