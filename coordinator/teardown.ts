/**
 * Carrying out a client's teardown once its machine decided on it: the actor the client machine invokes.
 * It forgets the client's public connections with ctdbd, has the backend end its channels, and logs,
 * counts and reports the result; the machine is gone when this settles.
 */
import { fromPromise } from 'xstate';
import type { ClusterView } from '../ctdb/cluster-view.js';
import { socketTupleLabel } from '../native/index.js';
import type { TeardownLogic } from '../statecharts/client-machine.js';
import type { ChannelRecord, TeardownReason, TeardownRequest } from '../statecharts/types.js';
import type { Backend } from './backends/backend.js';
import type { DestroyOutcome } from './backends/destroy.js';
import type { ReportFailure } from './failures.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';

export interface TornDown {
  clientGuid: string;
  reason: TeardownReason;
  channels: number;
  latencyMs: number;
}

export interface TeardownDeps {
  /** Accessors: the registry (and with it this actor) exists before the backend and cluster view start. */
  backend: () => Backend;
  cluster: () => ClusterView;
  metrics: Metrics;
  log: Logger;
  failed: ReportFailure;
  now: () => number;
  tornDown: (e: TornDown) => void;
  /** Written before the teardown acts, so a restart cut short by kill -9 carries it out (teardown-journal.ts). */
  journal?: { note(request: TeardownRequest): void };
}

export function teardownActor(deps: TeardownDeps): TeardownLogic {
  return fromPromise<void, TeardownRequest>(async ({ input }) => {
    const started = input.causedAt ?? deps.now();
    try {
      deps.journal?.note(input);
    } catch (error) {
      deps.failed('teardown journal write', { client: input.clientGuid })(error as Error);
    }
    for (const c of input.channels) forgetPublicConnection(deps, c);
    const destroyed = await deps
      .backend()
      .teardown(input.clientGuid, input.owner, input.channels, input.reason.kind)
      .catch((error: Error) => {
        deps.failed('client teardown', { client: input.clientGuid }, 'error')(error);
        return undefined;
      });
    report(deps, input, destroyed, deps.now() - started);
  });
}

function report(
  deps: TeardownDeps,
  input: TeardownRequest,
  destroyed: DestroyOutcome | undefined,
  latencyMs: number,
): void {
  const { clientGuid, reason, channels } = input;
  deps.metrics.teardowns.inc({ reason: reason.kind });
  deps.metrics.teardownSeconds.observe({ reason: reason.kind }, latencyMs / 1000);
  const how = destroyed
    ? ` (SOCK_DESTROY: ${destroyed.killed} killed, ${destroyed.alreadyGone} already gone${destroyed.failed.length ? `, ${destroyed.failed.length} failed` : ''})`
    : '';
  deps.log.info(
    {
      client: clientGuid,
      reason,
      channels: channels.length,
      tuples: channels.map((c) => socketTupleLabel(c.tuple)),
      latencyMs,
      ...(destroyed ? { destroyed } : {}),
    },
    `client torn down: ${channels.length} channel(s) in ${latencyMs} ms${how}`,
  );
  deps.tornDown({ clientGuid, reason, channels: channels.length, latencyMs });
}

function forgetPublicConnection(deps: TeardownDeps, channel: ChannelRecord): void {
  const cluster = deps.cluster();
  if (!channel.onPublicIp || !cluster.forgetConnection) return;
  const t = channel.tuple;
  cluster
    .forgetConnection(
      { address: t.localAddress, port: t.localPort },
      { address: t.remoteAddress, port: t.remotePort },
    )
    // Expected when the IP is gone already (ctdbd dropped its list with it): debug, not warn.
    .catch(deps.failed('ctdbd TCP_CLIENT removal', { channel: socketTupleLabel(t) }, 'debug'));
}
