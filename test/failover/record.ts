import type { AgentLine } from './agent.js';
import type { SimClientSpec } from './sim-client.js';
import type { SmbclientSpec } from './smbclient-session.js';

/**
 * What the harness records while a scenario runs: plain data, so the assertions and the report are pure
 * functions of it (and unit-testable without a cluster).
 */
export interface Marker {
  at: number;
  node?: number;
  kind: 'action' | 'ip-released' | 'ip-taken' | 'ctdbd-lost' | 'ctdbd-restored';
  label: string;
}

/** Something that may end clients on one node. */
export interface Fault {
  /** When it happened (the mccd event, or the harness's action). */
  at: number;
  /** The harness action it follows from (the latest one issued at or before `at`). */
  causeAt: number;
  node: number;
  /** ip: only clients that reached the node through this public IP; node: every client there; clients: these GUIDs. */
  scope: { kind: 'ip'; ip: string } | { kind: 'node' } | { kind: 'clients'; guids: string[] };
  /** The node cannot close anything (partition): clients notice by their own timeouts. */
  clientDetected: boolean;
  label: string;
}

/** Channels per node at one moment (null: that node's mccd did not answer). */
export interface Sample {
  at: number;
  channels: (number | null)[];
}

export interface NodeInfo {
  pnn: number;
  address: string;
}

export interface FdCount {
  node: number;
  before: number | undefined;
  after: number | undefined;
  /** The same mccd process both times (a restarted mccd is not compared). */
  samePid: boolean;
  /** Kinds of fd there are more of afterwards ("+2 socket"). */
  grew: string;
}

export interface PublicAnnounced {
  at: number;
  node: number;
  ip: string;
  via: 'mccd-api' | 'client';
}

export interface ScenarioRecord {
  name: string;
  description: string;
  steps: string[];
  startAt: number;
  endAt: number;
  nodes: NodeInfo[];
  publicIps: string[];
  clients: SimClientSpec[];
  smbclients: SmbclientSpec[];
  /** Every agent line of the whole run (the evaluation looks before startAt for where clients were). */
  lines: AgentLine[];
  faults: Fault[];
  markers: Marker[];
  samples: Sample[];
  /** After settling: for each GUID, the nodes holding its channels and how many. */
  finalPlacement: Record<string, { node: number; channels: number }[]>;
  publicAnnounced: PublicAnnounced[];
  fds: FdCount[];
  settled: boolean;
  settleNote?: string;
  /** Why clients were not settled when the scenario began (a previous scenario left them so). */
  baselineNote?: string;
  /** Where each public IP was at each action, for attributing smbclient sessions. */
  ipOwners: { at: number; owners: Record<string, number> }[];
}
