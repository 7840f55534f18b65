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
  /**
   * The node is cut off from the leader (partition, and its heal): what its own ctdbd takes and releases
   * meanwhile is invisible in the leader's `ctdb ip`, so its RELEASE_IPs are corroborated by this action.
   */
  isolates?: boolean;
  /**
   * Not mccd's rule but the backend's (smbd 4.17 drops a client when one of its connections on a public
   * IP ends, whoever opened it): the clients in scope may lose their channels or keep them. A loss is
   * explained, keeping them is no violation, and neither the loss's completeness nor its time is judged
   * (recorded, as a finding says what happened); their reconnect is, as mccd must let them back.
   */
  backendRule?: boolean;
  label: string;
  /**
   * Who says it happened. `harness`: an action the harness took; `ctdb`: a move seen in `ctdb ip` on the
   * cluster; `mccd`: an event in mccd's own stream — the thing under test, so it counts only where the
   * other two corroborate it (truth.ts).
   */
  source: 'harness' | 'ctdb' | 'mccd';
}

/** Channels per node at one moment (null: that node's mccd did not answer). */
export interface Sample {
  at: number;
  channels: (number | null)[];
  /** Per node: both /v1/channels and /v1/interfaces answered, so the public-IP check saw this moment. */
  answered: boolean[];
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
  /** Checks the harness made itself (connect-check): each a fresh connection that had to be served. */
  checks?: { at: number; label: string; ok: boolean; detail: string }[];
  /** What a step found out and records as it is, neither pass nor fail (what Samba does, honestly). */
  findings?: { at: number; label: string; detail: string }[];
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
  /** Nodes whose mccd did not answer when finalPlacement was read: their channels are unknown. */
  unansweredAtEnd: number[];
  /** The scenario file's limits on teardown and reconnect times. */
  budgets: Budgets;
  publicAnnounced: PublicAnnounced[];
  /**
   * Where the record learns what servers told clients: `client-fsctl`, the simulated clients' own FSCTL
   * to the worker (their `announced` lines); `smbtorture-probe`, smbd's answer to smbtorture in the
   * client namespace (`probe` lines), required for every public IP in every scenario.
   */
  serverInterfaces: 'client-fsctl' | 'smbtorture-probe';
  fds: FdCount[];
  settled: boolean;
  settleNote?: string;
  /** Why clients were not settled when the scenario began (a previous scenario left them so). */
  baselineNote?: string;
  /**
   * Where each public IP was, from `ctdb ip` on the cluster (never from mccd): at each action and polled
   * throughout. The ground truth that mccd's RELEASE_IP events are checked against.
   */
  ipOwners: { at: number; owners: Record<string, number> }[];
  /**
   * When the harness itself had a node's mccd down (kill -9 until it answered again, a restart): polls
   * then are not missing observations, since there was no mccd to announce anything.
   */
  mccdDown: { node: number; from: number; to: number }[];
  /** What a step found wrong itself (a client connecting during an mccd restart was not served). */
  stepProblems?: string[];
}

export interface Budgets {
  teardown: { ms: number; reason: string };
  reconnect: { ms: number; reason: string };
}
