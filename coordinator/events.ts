import type { ClusterEvent } from '../ctdb/cluster-view.js';
import type { TransitionRecord } from '../statecharts/registry.js';
import type { TeardownReason } from '../statecharts/types.js';
import type { Rejection } from './front-door.js';

/** What the coordinator reports to operators (`GET /v1/events`, `mcc events`) as it happens. */
export type CoordinatorEvent =
  | { kind: 'transition'; record: TransitionRecord }
  | { kind: 'cluster'; event: ClusterEvent }
  | {
      kind: 'teardown';
      clientGuid: string;
      reason: TeardownReason;
      channels: number;
      latencyMs: number;
    }
  | { kind: 'rejected'; rejection: Rejection };
