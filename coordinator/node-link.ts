/**
 * mccd to mccd on the other nodes, over the mcc srvid that ctdbd carries: claims ("this client is mine
 * now") and the query/reply exchange behind `mcc cluster channels`.
 */
import { randomUUID } from 'node:crypto';
import type { ClusterView } from '../ctdb/cluster-view.js';
import { NodeFlags } from '../ctdb/protocol/controls.js';
import { decodeClusterMessage, encodeClusterMessage } from './cluster-messages.js';
import type { ReportFailure } from './failures.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';

/** Nodes that cannot answer a query: not connected, or deleted from the nodes file. */
const UNREACHABLE = NodeFlags.DISCONNECTED | NodeFlags.DELETED;

export interface Claim {
  clientGuid: string;
  pnn: number;
}

export interface NodeLinkDeps {
  cluster: ClusterView;
  metrics: Metrics;
  log: Logger;
  failed: ReportFailure;
  /** This node's answer to another node's query. */
  answerQuery: () => unknown;
  /** Another node took a client. */
  claimed: (claim: Claim) => void;
}

export class NodeLink {
  private readonly pendingQueries = new Map<string, (from: number, body: unknown) => void>();

  constructor(private readonly deps: NodeLinkDeps) {}

  /** One client, one node: whoever had this client lets it go. */
  claim(clientGuid: string): void {
    const { cluster } = this.deps;
    cluster
      .sendToNode(
        'all',
        encodeClusterMessage({ type: 'claim', clientGuid, pnn: cluster.pnn, at: Date.now() }),
      )
      .catch(this.deps.failed('cluster claim broadcast', { client: clientGuid }));
  }

  /** Asks every reachable node (this one included) for its answer; those that arrive within `timeoutMs`. */
  async queryAll(timeoutMs: number): Promise<{ nodes: Record<number, unknown>; missing: number[] }> {
    const { cluster } = this.deps;
    const nodes = await cluster.nodeMap().catch(() => [{ pnn: cluster.pnn, flags: 0 }]);
    const expected = nodes.filter((n) => !(n.flags & UNREACHABLE)).map((n) => n.pnn);
    const id = randomUUID();
    const got: Record<number, unknown> = {};
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.pendingQueries.set(id, (from, body) => {
        got[from] = body;
        if (expected.every((p) => got[p] !== undefined)) {
          clearTimeout(timer);
          resolve();
        }
      });
      cluster
        .sendToNode('all', encodeClusterMessage({ type: 'query', id, from: cluster.pnn }))
        .catch((error) => {
          this.deps.failed('cluster query broadcast')(error);
          resolve();
        });
    });
    this.pendingQueries.delete(id);
    return { nodes: got, missing: expected.filter((p) => got[p] === undefined) };
  }

  onMessage(bytes: Uint8Array): void {
    const parsed = decodeClusterMessage(bytes);
    if (!parsed.ok) {
      this.deps.metrics.parseErrors.inc({ parser: 'cluster-message', code: parsed.error.code });
      this.deps.log.warn({ code: parsed.error.code }, parsed.error.message);
      return;
    }
    const m = parsed.value;
    const { cluster } = this.deps;
    switch (m.type) {
      case 'query':
        cluster
          .sendToNode(
            m.from,
            encodeClusterMessage({
              type: 'reply',
              id: m.id,
              from: cluster.pnn,
              body: this.deps.answerQuery(),
            }),
          )
          .catch(this.deps.failed('cluster query reply', { node: m.from }));
        return;
      case 'reply':
        this.pendingQueries.get(m.id)?.(m.from, m.body);
        return;
      case 'claim':
        if (m.pnn !== cluster.pnn) this.deps.claimed({ clientGuid: m.clientGuid, pnn: m.pnn });
        return;
    }
  }
}
