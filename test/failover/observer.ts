import { readdirSync, readlinkSync } from 'node:fs';
import { request } from 'node:http';
import { apiGet, eventStreamParser } from '../../cli/api-client.js';
import type { ChannelRow } from '../../coordinator/coordinator.js';
import type { Fault, Marker, PublicAnnounced, Sample } from './record.js';

/**
 * Watches every node's mccd through its operator API while scenarios run: channels per node (sampled),
 * the announced interface list (no public IP, ever), and the event stream (RELEASE_IP, TAKE_IP, ctdbd
 * lost/restored) as plot markers, and as mccd's claims the assertions check against `ctdb ip`.
 */
export interface ObservedNode {
  pnn: number;
  apiSocket: string;
  /** mccd's pid now, undefined while it is down. */
  pid(): number | undefined;
}

interface StreamEvent {
  kind: string;
  event?: { type: string; ip?: string; at?: number; reason?: string };
  clientGuid?: string;
  reason?: { kind?: string };
}

/** A teardown mccd itself carried out (its event stream), as the steps that judge mccd's own part see it. */
export interface ObservedTeardown {
  at: number;
  node: number;
  clientGuid: string;
  reason: string;
}

export class Observer {
  readonly markers: Marker[] = [];
  /** mccd's own reports: corroboration for the assertions, never a fault on their own word. */
  readonly faults: Omit<Fault, 'causeAt'>[] = [];
  readonly samples: Sample[] = [];
  readonly publicAnnounced: PublicAnnounced[] = [];
  readonly teardowns: ObservedTeardown[] = [];
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly streams = new Map<number, { close(): void }>();

  constructor(
    private readonly nodes: ObservedNode[],
    private readonly publicIps: string[],
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    this.running = true;
    for (const n of this.nodes) this.subscribe(n);
    this.loop = this.sampleLoop();
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const s of this.streams.values()) s.close();
    await this.loop;
  }

  /** Every node's channel rows, and the nodes that did not answer (their channels are unknown, not none). */
  async channelRows(): Promise<{ rows: ChannelRow[]; unanswered: number[] }> {
    const rows = await Promise.all(
      this.nodes.map((n) =>
        apiGet<ChannelRow[]>({ socketPath: n.apiSocket }, '/v1/channels', 2000).catch(() => undefined),
      ),
    );
    return {
      rows: rows.flatMap((r) => r ?? []),
      unanswered: this.nodes.filter((_, i) => rows[i] === undefined).map((n) => n.pnn),
    };
  }

  async placement(): Promise<{
    placement: Record<string, { node: number; channels: number }[]>;
    unanswered: number[];
  }> {
    const out: Record<string, { node: number; channels: number }[]> = {};
    const { rows, unanswered } = await this.channelRows();
    for (const row of rows) {
      const list = out[row.clientGuid] ?? [];
      out[row.clientGuid] = list;
      const entry = list.find((e) => e.node === row.node);
      if (entry) entry.channels++;
      else list.push({ node: row.node, channels: 1 });
    }
    return { placement: out, unanswered };
  }

  /** Whether a node's mccd says it is connected to its ctdbd (false while it does not answer). */
  async clusterConnected(pnn: number): Promise<boolean> {
    const node = this.nodes.find((n) => n.pnn === pnn);
    if (!node) return false;
    const s = await apiGet<{ clusterConnected: boolean }>(
      { socketPath: node.apiSocket },
      '/v1/status',
      2000,
    ).catch(() => undefined);
    return s?.clusterConnected === true;
  }

  /**
   * Open fds of a node's mccd by kind (socket, pipe, anon_inode:[eventpoll], a file), from the reading
   * with the fewest of five over a second: API requests in flight come and go.
   */
  async fds(pnn: number): Promise<{ count: number | undefined; kinds: Record<string, number> | undefined }> {
    const pid = this.nodes.find((n) => n.pnn === pnn)?.pid();
    let best: Record<string, number> | undefined;
    let count: number | undefined;
    for (let i = 0; pid !== undefined && i < 5; i++) {
      try {
        const kinds: Record<string, number> = {};
        const entries = readdirSync(`/proc/${pid}/fd`);
        for (const fd of entries) {
          let target = 'gone';
          try {
            target = readlinkSync(`/proc/${pid}/fd/${fd}`).replace(/:\[\d+\]$/, '');
          } catch {
            // closed meanwhile
          }
          kinds[target] = (kinds[target] ?? 0) + 1;
        }
        if (count === undefined || entries.length < count) {
          count = entries.length;
          best = kinds;
        }
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return { count, kinds: best };
  }

  private async sampleLoop(): Promise<void> {
    while (this.running) {
      const started = Date.now();
      const polled = await Promise.all(
        this.nodes.map(async (n) => {
          const [rows, interfaces] = await Promise.all([
            apiGet<ChannelRow[]>({ socketPath: n.apiSocket }, '/v1/channels', 1000).catch(() => undefined),
            apiGet<{ announced: { address: string }[] }>(
              { socketPath: n.apiSocket },
              '/v1/interfaces',
              1000,
            ).catch(() => undefined),
          ]);
          for (const a of interfaces?.announced ?? []) {
            if (this.publicIps.includes(a.address))
              this.publicAnnounced.push({ at: Date.now(), node: n.pnn, ip: a.address, via: 'mccd-api' });
          }
          return {
            channels: rows ? rows.length : null,
            answered: rows !== undefined && interfaces !== undefined,
          };
        }),
      );
      this.samples.push({
        at: started,
        channels: polled.map((p) => p.channels),
        answered: polled.map((p) => p.answered),
      });
      await new Promise((r) => setTimeout(r, Math.max(10, this.intervalMs - (Date.now() - started))));
    }
  }

  /** mccd's SSE stream, re-opened while mccd restarts. */
  private subscribe(node: ObservedNode): void {
    if (!this.running) return;
    let closed = false;
    const req = request({ socketPath: node.apiSocket, path: '/v1/events', method: 'GET' }, (res) => {
      res.setEncoding('utf8');
      res.on(
        'data',
        eventStreamParser((e) => this.onEvent(node.pnn, e as StreamEvent)),
      );
      res.on('end', retry);
      res.on('error', retry);
    });
    function retryLater(self: Observer) {
      if (closed) return;
      closed = true;
      setTimeout(() => self.subscribe(node), 300);
    }
    const retry = () => retryLater(this);
    req.on('error', retry);
    req.end();
    this.streams.set(node.pnn, {
      close: () => {
        closed = true;
        req.destroy();
      },
    });
  }

  private onEvent(pnn: number, e: StreamEvent): void {
    if (e.kind === 'teardown' && e.clientGuid)
      this.teardowns.push({
        at: Date.now(),
        node: pnn,
        clientGuid: e.clientGuid,
        reason: e.reason?.kind ?? 'unknown',
      });
    if (e.kind !== 'cluster' || !e.event) return;
    const at = e.event.at ?? Date.now();
    switch (e.event.type) {
      case 'ip-released':
        this.markers.push({
          at,
          node: pnn,
          kind: 'ip-released',
          label: `node ${pnn} released ${e.event.ip}`,
        });
        this.faults.push({
          at,
          node: pnn,
          scope: { kind: 'ip', ip: e.event.ip ?? '' },
          clientDetected: false,
          label: `RELEASE_IP ${e.event.ip} on node ${pnn}`,
          source: 'mccd',
        });
        break;
      case 'ip-taken':
        this.markers.push({ at, node: pnn, kind: 'ip-taken', label: `node ${pnn} took ${e.event.ip}` });
        break;
      case 'lost':
        this.markers.push({ at, node: pnn, kind: 'ctdbd-lost', label: `node ${pnn}: mccd lost ctdbd` });
        this.faults.push({
          at,
          node: pnn,
          scope: { kind: 'node' },
          clientDetected: false,
          label: `ctdbd lost on node ${pnn}`,
          source: 'mccd',
        });
        break;
      case 'restored':
        this.markers.push({
          at,
          node: pnn,
          kind: 'ctdbd-restored',
          label: `node ${pnn}: mccd back on ctdbd`,
        });
        break;
      default:
        break;
    }
  }
}
