import { existsSync, lstatSync, readFileSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { fdOf, peerCred } from '../native/index.js';
import { TokenCheck } from './api-auth.js';
import type { ClusterMode } from './cluster-mode.js';
import type { MccConfig } from './config.js';
import type { Coordinator, CoordinatorEvent } from './coordinator.js';
import { CoordinatorError } from './errors.js';
import type { Logger } from './log.js';
import { memoryReport } from './memory.js';
import { clientRows } from './operator-views.js';
import type { RestoreReport } from './restore.js';
import { prepareSocketPath, withOwnerOnlyUmask } from './socket-dir.js';

/** GET /v1/status: what `mcc status` shows. */
export interface StatusAnswer {
  version: string;
  pid: number;
  uptimeMs: number;
  mode: ClusterMode;
  pnn: number;
  clusterConnected: boolean;
  listen: { address: string; port: number }[];
  backend: Record<string, unknown>;
  clients: number;
  clientStates: Record<string, number>;
  channels: number;
  interfaces: number;
  publicIps: string[];
  /** What this mccd took back from its predecessor at start (docs/restart.md). */
  restart: RestoreReport | null;
  /** The state file and its last write. */
  state: { file: string; lastWrite: { bytes: number; clients: number; at: number; ms: number } | null };
}

/**
 * The operator API: HTTP on a root-only unix socket (mode 0600 and an SO_PEERCRED uid check), optionally
 * on a loopback TCP port with a bearer token. JSON everywhere, SSE for events, Prometheus at /metrics.
 */
export class OperatorApi {
  private readonly servers: Server[] = [];
  private tokenCheck: TokenCheck | undefined;

  constructor(
    private readonly coordinator: Coordinator,
    private readonly config: MccConfig['api'],
    private readonly log: Logger,
    private readonly version: string,
  ) {}

  async start(): Promise<void> {
    const path = this.config.socket;
    prepareSocketPath(path, 'api.socket');
    const unix = this.server('unix');
    // listen() binds synchronously, so the umask covers the bind and the socket is 0600 from birth.
    await new Promise<void>((resolve, reject) => {
      unix.once('error', reject);
      withOwnerOnlyUmask(() => unix.listen(path, () => resolve()));
    });
    this.listening(unix, path);
    if (this.config.tcp) {
      const token = readFileSync(this.config.tcp.tokenFile, 'utf8').trim();
      if (token.length < 16)
        throw new CoordinatorError(
          'BAD_API_TOKEN',
          'api.tcp.tokenFile: the token must be at least 16 characters',
        );
      this.tokenCheck = new TokenCheck(token);
      const tcp = this.server('tcp');
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(this.config.tcp!.port, this.config.tcp!.address, () => resolve());
      });
      this.listening(tcp, `${this.config.tcp.address}:${this.config.tcp.port}`);
    }
  }

  /**
   * Bounded like every listener a stranger can reach: at most maxConnections open (more are closed at
   * accept), and a connection that does not finish its headers (request) in time gets 408 and is closed.
   */
  private server(via: 'unix' | 'tcp'): Server {
    const server = createServer(
      {
        headersTimeout: this.config.headersTimeoutMs,
        requestTimeout: this.config.requestTimeoutMs,
        // How often the timeouts above are checked (Node's default is 30 s).
        connectionsCheckingInterval: Math.min(1000, this.config.headersTimeoutMs),
      },
      (req, res) => this.handle(req, res, via),
    );
    server.maxConnections = this.config.maxConnections;
    // Node's headersTimeout only starts at a request's first byte: a connection that never sends one
    // would hold its slot (and fd) for ever. It gets the same deadline for its first request.
    const served = new WeakSet<object>();
    server.on('request', (req: IncomingMessage) => served.add(req.socket));
    server.on('connection', (socket) => {
      const timer = setTimeout(() => {
        if (!served.has(socket)) socket.destroy();
      }, this.config.headersTimeoutMs);
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
    });
    return server;
  }

  /** Once listening, an error is a failed accept (EMFILE...): reported, and the server goes on. */
  private listening(server: Server, name: string): void {
    server.on('error', (error: NodeJS.ErrnoException) =>
      this.coordinator.acceptFailed({
        listener: 'api',
        code: error.code ?? 'EUNKNOWN',
        message: `${name}: ${error.message}`,
      }),
    );
    this.servers.push(server);
  }

  async stop(): Promise<void> {
    for (const s of this.servers) s.closeAllConnections?.();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    const path = this.config.socket;
    if (existsSync(path) && lstatSync(path).isSocket()) unlinkSync(path);
  }

  private authorized(req: IncomingMessage, via: 'unix' | 'tcp'): boolean {
    if (via === 'tcp') {
      const refusal = this.tokenCheck ? this.tokenCheck.refusal(req) : 'token';
      if (refusal) this.coordinator.metrics.apiRefused.inc({ reason: refusal });
      return refusal === undefined;
    }
    try {
      const { uid } = peerCred(fdOf(req.socket));
      if (uid === 0 || uid === process.getuid?.()) return true;
    } catch {
      // No credentials: refused like a stranger.
    }
    this.coordinator.metrics.apiRefused.inc({ reason: 'peer' });
    return false;
  }

  private handle(req: IncomingMessage, res: ServerResponse, via: 'unix' | 'tcp'): void {
    if (!this.authorized(req, via)) {
      this.json(res, 403, { error: 'forbidden' });
      return;
    }
    const url = new URL(req.url ?? '/', 'http://mccd');
    const route = `${req.method} ${url.pathname}`;
    const c = this.coordinator;
    try {
      if (route === 'GET /v1/status') {
        this.json(res, 200, this.status());
        return;
      }
      if (route === 'GET /v1/clients') {
        this.json(res, 200, clientRows(c.registry, Date.now()));
        return;
      }
      if (route === 'GET /v1/memory') {
        this.json(res, 200, memoryReport(url.searchParams.get('gc') === '1'));
        return;
      }
      if (route === 'GET /v1/channels') {
        this.json(res, 200, c.channelRows());
        return;
      }
      if (route === 'GET /v1/interfaces') {
        this.json(res, 200, c.interfacesReport());
        return;
      }
      if (route === 'GET /v1/cluster/channels') {
        c.clusterChannels(Number(url.searchParams.get('timeoutMs') ?? 2000)).then(
          (r) => this.json(res, 200, r),
          (e: Error) => this.json(res, 503, { error: e.message }),
        );
        return;
      }
      if (route === 'GET /v1/events') {
        this.events(req, res);
        return;
      }
      if (route === 'GET /metrics') {
        c.metrics.registry.metrics().then((text) => {
          res.writeHead(200, { 'content-type': c.metrics.registry.contentType });
          res.end(text);
        });
        return;
      }
      if (route === 'POST /v1/ctdb/event') {
        this.body(req).then(
          (body) => {
            const b = body as { event?: unknown; args?: unknown };
            if (
              typeof b.event !== 'string' ||
              !Array.isArray(b.args) ||
              !b.args.every((a) => typeof a === 'string')
            ) {
              c.metrics.parseErrors.inc({ parser: 'ctdb-event', code: 'BAD_VALUE' });
              return this.json(res, 400, { error: 'expected {"event": string, "args": string[]}' });
            }
            c.onScriptEvent(b.event, b.args as string[]);
            this.json(res, 202, { accepted: b.event });
          },
          (e: Error) => this.json(res, 400, { error: e.message }),
        );
        return;
      }
      const teardown = /^POST \/v1\/clients\/([0-9a-fA-F-]{36})\/teardown$/.exec(route);
      if (teardown) {
        const guid = teardown[1]!.toLowerCase();
        this.json(res, 202, { clientGuid: guid, state: c.teardownClient(guid, via) });
        return;
      }
      this.json(res, 404, { error: `no route ${route}` });
    } catch (error) {
      if (error instanceof CoordinatorError && error.code === 'NO_CLIENT') {
        this.json(res, 404, { error: error.message, code: error.code });
        return;
      }
      this.log.error({ route, err: (error as Error).message }, 'operator API request failed');
      this.json(res, 500, { error: (error as Error).message });
    }
  }

  status(): StatusAnswer {
    const c = this.coordinator;
    const states: Record<string, number> = {};
    let channels = 0;
    for (const v of c.registry.views()) {
      states[v.state] = (states[v.state] ?? 0) + 1;
      channels += v.context.channels.length;
    }
    return {
      version: this.version,
      pid: process.pid,
      uptimeMs: Date.now() - c.startedAt,
      mode: c.mode,
      pnn: c.cluster.pnn,
      clusterConnected: c.cluster.connected,
      listen: c.frontDoor.addresses(),
      backend: c.backend.describe(),
      clients: c.registry.size,
      clientStates: states,
      channels,
      interfaces: c.discovery.current().announced.length,
      publicIps: c.publicIps.addresses(),
      restart: c.restore ?? null,
      state: { file: c.stateFile, lastWrite: c.stateWriter?.last ?? null },
    };
  }

  private events(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.write(': mccd event stream\n\n');
    const send = (e: CoordinatorEvent) => res.write(`event: ${e.kind}\ndata: ${JSON.stringify(e)}\n\n`);
    this.coordinator.on('event', send);
    const ping = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    req.on('close', () => {
      clearInterval(ping);
      this.coordinator.off('event', send);
    });
  }

  private body(req: IncomingMessage): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => {
        text += d;
        if (text.length > 64 * 1024) req.destroy(new Error('request body over 64 KiB'));
      });
      req.on('end', () => {
        try {
          resolve(JSON.parse(text || '{}'));
        } catch {
          reject(new Error('request body is not JSON'));
        }
      });
      req.on('error', reject);
    });
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}
