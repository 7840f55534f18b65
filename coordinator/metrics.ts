import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** mccd's Prometheus metrics, on a registry of its own (served at /metrics). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'mcc_process_' });
  /** Read when /metrics is scraped (the parts that own the numbers set these). */
  const sources = { pendingNegotiates: () => 0, waitingForOwner: () => 0 };
  return {
    registry,
    sources,
    pendingNegotiates: new Gauge({
      name: 'mcc_pending_negotiates',
      help: 'Connections accepted and still waiting for their NEGOTIATE (one fd each; bounded by negotiate.maxPending)',
      registers: [registry],
      collect() {
        this.set(sources.pendingNegotiates());
      },
    }),
    waitingForOwner: new Gauge({
      name: 'mcc_connections_waiting_for_owner',
      help: 'Connections past the NEGOTIATE waiting for an owner process (an smbd pool member)',
      registers: [registry],
      collect() {
        this.set(sources.waitingForOwner());
      },
    }),
    acceptErrors: new Counter({
      name: 'mcc_accept_errors_total',
      help: 'Failed accepts by listener (smb, api, worker) and errno code (EMFILE, ENFILE...); the listener backs off and goes on',
      labelNames: ['listener', 'code'],
      registers: [registry],
    }),
    channels: new Gauge({
      name: 'mcc_channels',
      help: 'Live channels on this node by channel state',
      labelNames: ['state'],
      registers: [registry],
    }),
    clients: new Gauge({
      name: 'mcc_clients',
      help: 'Clients on this node by state',
      labelNames: ['state'],
      registers: [registry],
    }),
    accepted: new Counter({
      name: 'mcc_connections_accepted_total',
      help: 'TCP connections accepted at the front door',
      registers: [registry],
    }),
    handoffs: new Counter({
      name: 'mcc_handoffs_total',
      help: 'Channels handed to an owner process',
      labelNames: ['backend'],
      registers: [registry],
    }),
    handoffFailures: new Counter({
      name: 'mcc_handoff_failures_total',
      help: 'Handoffs that failed',
      labelNames: ['backend'],
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'mcc_rejected_connections_total',
      help: 'Connections closed before handoff, by reason (smb1, not-smb2, oversized, truncated, timeout, eof, bad-negotiate, error, shed, tearing-down, ip-releasing, channel-limit, client-limit, no-backend, cluster-lost, client-gone, overloaded)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    parseErrors: new Counter({
      name: 'mcc_parse_errors_total',
      help: 'Inputs a parser refused, by parser and error code',
      labelNames: ['parser', 'code'],
      registers: [registry],
    }),
    apiRefused: new Counter({
      name: 'mcc_api_refused_total',
      help: 'Operator API requests refused, by reason (origin, host, token on TCP; peer on the unix socket)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    workerBadMessages: new Counter({
      name: 'mcc_worker_bad_messages_total',
      help: 'Worker messages refused, by reason (oversize, fds, malformed, before-register, register-twice, not-owner, unknown-teardown; disconnected: connections cut off for sending too many)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    leftoverChannelsClosed: new Counter({
      name: 'mcc_leftover_channels_closed_total',
      help: 'Connections on the SMB ports found at start-up that this mccd never accepted (left by a previous mccd), closed',
      registers: [registry],
    }),
    teardowns: new Counter({
      name: 'mcc_teardowns_total',
      help: 'Client teardowns by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    teardownSeconds: new Histogram({
      name: 'mcc_teardown_latency_seconds',
      help: 'From the cluster event (or teardown start) to every channel of the client closed',
      labelNames: ['reason'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    clusterConnected: new Gauge({
      name: 'mcc_cluster_connected',
      help: '1 while the cluster daemon (ctdbd) connection is up',
      registers: [registry],
    }),
    clusterEvents: new Counter({
      name: 'mcc_cluster_events_total',
      help: 'Cluster events received',
      labelNames: ['type'],
      registers: [registry],
    }),
    smbdHandoffs: new Counter({
      name: 'mcc_smbd_handoffs_total',
      help: 'Connections given to smbd by path: pool (a member forked ahead of time), spawn (no pool), pool-empty (none ready in time: fallback spawn)',
      labelNames: ['path'],
      registers: [registry],
    }),
    destroyFailures: new Counter({
      name: 'mcc_teardown_destroy_failures_total',
      help: 'Channels being torn down that SOCK_DESTROY could not kill (already closed ones are not counted)',
      registers: [registry],
    }),
    smbdPoolFailures: new Counter({
      name: 'mcc_smbd_pool_failures_total',
      help: 'smbd pool zygotes or members that did not get ready in time or died waiting (each is replaced)',
      registers: [registry],
    }),
    channelsResetAtOnce: new Counter({
      name: 'mcc_channels_reset_at_once_total',
      help: 'channels of clients torn down by RELEASE_IP or a lost ctdbd, reset in one SOCK_DESTROY batch before their owners were told, by result',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    smbdInterfacesProblems: new Gauge({
      name: 'mcc_smbd_interfaces_problems',
      help: "entries of smbd's `interfaces =` line that would announce a CTDB public IP (smbd backend; 0 is right)",
      registers: [registry],
    }),
    backgroundFailures: new Counter({
      name: 'mcc_background_failures_total',
      help: 'Failures of work nothing waits for (claim broadcasts, public IP refreshes, query replies, messages to workers), by operation',
      labelNames: ['operation'],
      registers: [registry],
    }),
    workers: new Gauge({ name: 'mcc_workers', help: 'Registered worker processes', registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
