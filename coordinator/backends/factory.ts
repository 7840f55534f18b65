/**
 * The backend the config names, and the adapter from its events to the client machines, metrics and
 * log. The only place that knows which backend kinds exist.
 */
import type { ClientRegistry } from '../../statecharts/registry.js';
import type { MccConfig } from '../config.js';
import { EventTally } from '../event-tally.js';
import type { ReportAcceptError, ReportFailure } from '../failures.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Backend } from './backend.js';
import { SmbdBackend } from './smbd-backend.js';
import { WorkerBackend, type WorkerBackendOptions } from './worker-backend.js';

export interface BackendContext {
  /** The front door's ports (known once it listens). */
  ports: () => number[];
  pnn: () => number;
  /** NETWORK_INTERFACE_INFO for a connection arriving on `local`. */
  interfacesFor: (local?: string) => Uint8Array;
  /** After a restart: whether a client a worker says it kept is one mccd restored (see restore.ts). */
  judgeHeld?: WorkerBackendOptions['judgeHeld'];
  /** Every CTDB public IP of the cluster, and a way to hear when the set grows (undefined: no cluster). */
  publicIps?: { addresses(): string[]; on(event: 'changed', listener: () => void): unknown };
}

export function createBackend(
  config: MccConfig['backend'],
  context: BackendContext,
  limits?: MccConfig['limits'],
): Backend {
  if (config.kind === 'smbd') {
    return new SmbdBackend({
      smbdPath: config.smbdPath,
      configFile: config.config,
      logDir: config.logDir,
      extraArgs: config.extraArgs,
      pool: config.pool,
      ports: context.ports,
      publicIps: context.publicIps,
      ...(limits ? { maxWaiting: limits.maxWaitingForOwner } : {}),
    });
  }
  return new WorkerBackend({
    socketPath: config.socket,
    pnn: context.pnn,
    interfacesFor: context.interfacesFor,
    teardownAckMs: config.teardownAckMs,
    ...(context.judgeHeld ? { judgeHeld: context.judgeHeld } : {}),
  });
}

export function adaptBackendEvents(
  backend: Backend,
  to: {
    registry: ClientRegistry;
    metrics: Metrics;
    log: Logger;
    failed: ReportFailure;
    acceptFailed: ReportAcceptError;
    /** Where a closed channel goes (the cluster rules decide what it means for the rest of the client). */
    channelClosed: (clientGuid: string, channelId: number) => void;
  },
): void {
  const { registry, metrics, log } = to;
  backend.on('accept-error', to.acceptFailed);
  backend.on('send-failed', (e) => to.failed(`sending the ${e.what} to ${e.ownerId ?? 'an owner'}`)(e.error));
  // The dialect and the channel's activation in one event (one machine step per report).
  backend.on('negotiated', (e) =>
    registry.send(e.clientGuid, { type: 'NEGOTIATED', dialect: e.dialect, channelId: e.channelId }),
  );
  backend.on('bound', (e) =>
    registry.send(e.clientGuid, { type: 'CHANNEL_EVENT', channelId: e.channelId, event: 'BOUND' }),
  );
  backend.on('channel-closed', (e) => to.channelClosed(e.clientGuid, e.channelId));
  backend.on('owner-gone', (e) => {
    log.warn({ owner: e.ownerId }, e.reason);
    registry.ownerCrashed(e.ownerId);
  });
  if (backend instanceof SmbdBackend) {
    backend.smbdEvents.on('handoff', (e) => metrics.smbdHandoffs.inc({ path: e.path }));
    backend.smbdEvents.on('pool-failure', (e) => {
      metrics.smbdPoolFailures.inc();
      log.warn({ backend: 'smbd' }, e.reason);
    });
    backend.smbdEvents.on('interfaces-audit', (problems) => {
      metrics.smbdInterfacesProblems.set(problems.length);
      if (problems.length === 0)
        log.info({ backend: 'smbd' }, "smbd's interfaces line announces no CTDB public IP");
      else
        log.error(
          { backend: 'smbd', problems },
          `smbd's interfaces line can announce CTDB public IPs (${problems.map((p) => p.detail).join('; ')}): set it to the line \`mcc interfaces --smb-conf\` prints`,
        );
    });
    backend.smbdEvents.on('pool-paused', (e) =>
      log.warn(
        { backend: 'smbd', idleMembersKilled: e.idleMembersKilled },
        `smbd pool paused (${e.reason}): zygote and ${e.idleMembersKilled} idle member(s) killed; connections go to a spawned smbd until ctdbd answers again`,
      ),
    );
  }
  backend.on('destroy-failed', (e) => {
    metrics.destroyFailures.inc();
    log.warn(
      { client: e.clientGuid, channel: e.tuple, errno: e.errno },
      `could not kill channel ${e.tuple} of client ${e.clientGuid} (SOCK_DESTROY errno ${e.errno})`,
    );
  });
  // Logged by the bad-message tally below: one line per refused message would let a worker flood the log.
  backend.on('protocol-error', (e) => metrics.parseErrors.inc({ parser: e.parser, code: e.code }));
  const refused = new EventTally(log, { what: 'worker messages refused', level: 'warn' });
  backend.on('bad-message', (e) => {
    metrics.workerBadMessages.inc({ reason: e.reason });
    refused.note(
      e.reason,
      { owner: e.ownerId, ownerPid: e.pid },
      `refused a message from ${e.ownerId ? `worker ${e.ownerId}` : 'an unregistered worker'} (pid ${e.pid}): ${e.message}`,
    );
  });
}
