/**
 * One worker's connection to mccd, from accept to close: who may connect (root or mccd's uid, by
 * SO_PEERCRED), registration once under a free id, and every message decoded and judged; bad ones are
 * refused with an error reply and counted, and a worker that keeps sending them is cut off. What a
 * registered worker's messages mean is the backend's business (onMessage).
 */
import type { EventEmitter } from 'node:events';
import { closeFd, peerCred, type SeqpacketCarrier } from '../../native/index.js';
import { decodeWorkerToMccd, encodeWorkerMessage, type WorkerToMccd } from '../worker/protocol.js';
import type { BackendEvents } from './backend.js';
import {
  type BadWorkerMessage,
  Conduct,
  emptyHoldings,
  type Refusal,
  type WorkerHoldings,
} from './worker-conduct.js';

export interface Worker extends WorkerHoldings {
  id: string;
  pid: number;
  carrier: SeqpacketCarrier;
  /** Registered as resuming and has not yet sent `held-done`: `held` reports are accepted. */
  resuming: boolean;
  /** The protocol version it registered with (docs/worker-protocol.md): 2 may batch its `reports`. */
  version: 1 | 2;
}

export interface WorkerSessionDeps {
  allowedUid: number;
  badMessageLimit: number | undefined;
  pnn: () => number;
  /** Registered workers by id: a session adds its worker on register and removes it on close. */
  workers: Map<string, Worker>;
  /** The backend, whose events report what happened here. */
  events: Pick<EventEmitter<BackendEvents>, 'emit'>;
  sendFailed: (what: string, ownerId: string | undefined) => (error: Error) => void;
  /** Acts on a registered worker's message, or says why it (or each refused part of a batch) is refused. */
  onMessage: (worker: Worker, m: Exclude<WorkerToMccd, { t: 'register' }>) => Refusal | Refusal[] | undefined;
}

export function serveWorkerConnection(carrier: SeqpacketCarrier, deps: WorkerSessionDeps): void {
  let cred: { pid: number; uid: number };
  try {
    cred = peerCred(carrier.fd);
  } catch {
    carrier.close();
    return;
  }
  if (cred.uid !== 0 && cred.uid !== deps.allowedUid) {
    carrier
      .send(encodeWorkerMessage({ t: 'error', message: `uid ${cred.uid} may not register` }))
      .finally(() => carrier.close());
    return;
  }
  const conduct = new Conduct(deps.badMessageLimit);
  let worker: Worker | undefined;
  let cutOff = '';
  const refuse = (reason: BadWorkerMessage, message: string) => {
    if (carrier.isClosed) return;
    deps.events.emit('bad-message', { ownerId: worker?.id, pid: cred.pid, reason, message });
    if (conduct.strike()) {
      cutOff = ` after ${conduct.total} bad messages`;
      deps.events.emit('bad-message', {
        ownerId: worker?.id,
        pid: cred.pid,
        reason: 'disconnected',
        message: `${conduct.total} bad messages: disconnected (its clients are torn down)`,
      });
      carrier.close();
      return;
    }
    carrier
      .send(encodeWorkerMessage({ t: 'error', message: message.slice(0, 500) }))
      .catch(deps.sendFailed('refusal', worker?.id));
  };
  carrier.on('dropped', (error) =>
    refuse(error.code === 'MSG_TRUNC' ? 'oversize' : 'fds', `message dropped: ${error.message}`),
  );
  carrier.on('message', ({ data, fds }) => {
    if (fds.length > 0) {
      for (const fd of fds) closeFd(fd);
      refuse('fds', `a message carried ${fds.length} fd(s); workers send none`);
      return;
    }
    const parsed = decodeWorkerToMccd(data);
    if (!parsed.ok) {
      deps.events.emit('protocol-error', {
        parser: 'worker',
        code: parsed.error.code,
        message: parsed.error.message,
      });
      refuse(parsed.error.code === 'OVERSIZED' ? 'oversize' : 'malformed', parsed.error.message);
      return;
    }
    const m = parsed.value;
    if (m.t === 'register') {
      if (worker) {
        refuse('register-twice', `already registered as ${worker.id}: register once per connection`);
        return;
      }
      if (deps.workers.has(m.workerId)) {
        carrier
          .send(encodeWorkerMessage({ t: 'error', message: `worker id ${m.workerId} is taken` }))
          .finally(() => carrier.close());
        return;
      }
      worker = {
        id: m.workerId,
        pid: cred.pid,
        carrier,
        resuming: m.resuming === true,
        version: m.version,
        ...emptyHoldings(),
      };
      deps.workers.set(m.workerId, worker);
      // A version 1 worker gets exactly version 1's answer (its parser refuses fields it does not know).
      carrier
        .send(
          encodeWorkerMessage({
            t: 'registered',
            workerId: m.workerId,
            pnn: deps.pnn(),
            ...(m.version === 2 ? { version: 2 as const } : {}),
          }),
        )
        .catch(deps.sendFailed('registration answer', m.workerId));
      // A worker that kept nothing is back at once; a resuming one once it has said what it kept.
      if (!worker.resuming) deps.events.emit('owner-back', { ownerId: m.workerId, clients: 0 });
      return;
    }
    if (!worker) {
      refuse('before-register', `${m.t} before register`);
      carrier.close();
      return;
    }
    const refusal = deps.onMessage(worker, m);
    if (refusal === undefined) return;
    for (const [reason, message] of isRefusal(refusal) ? [refusal] : refusal) refuse(reason, message);
  });
  carrier.on('close', () => {
    if (worker && deps.workers.get(worker.id) === worker) {
      deps.workers.delete(worker.id);
      deps.events.emit('owner-gone', {
        ownerId: worker.id,
        reason: `worker ${worker.id} (pid ${worker.pid}) disconnected${cutOff}`,
      });
    }
  });
}

function isRefusal(r: Refusal | Refusal[]): r is Refusal {
  return typeof r[0] === 'string';
}
