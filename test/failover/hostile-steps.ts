import { z } from 'zod';
import type { Step } from './scenario.js';

/**
 * The hostile-load steps' YAML (issue #23; performed by hostile-actions.ts): zod only, so loading a
 * scenario never loads what the steps run with.
 */
const pnn = z.number().int().min(0).max(63);
const nodeRef = z.union([pnn, z.enum(['leader', 'non-leader'])], {
  errorMap: () => ({ message: 'expected a node number, "leader" or "non-leader"' }),
});
const ms = (max: number) => z.number({ invalid_type_error: 'expected milliseconds' }).int().min(0).max(max);

export const hostileStepSchemas = [
  z
    .object({
      action: z.literal('idle-flood'),
      /** The flooded node. */
      node: nodeRef,
      /**
       * fixed: the node's own address (the node is flooded, the moved IP is not); public-ip: the first
       * public IP it holds, the one the moveip moves (the flood follows it; ctdb's releaseip must then
       * kill the flood's connections to it first).
       */
      target: z.enum(['fixed', 'public-ip']).default('fixed'),
      /** Connections held open without a byte, re-opened as soon as mccd closes one. */
      connections: z.number().int().min(1).max(20_000).default(4000),
      /** Source addresses of the attacker's own on the clients' side (mccd bounds each one). */
      sources: z.number().int().min(1).max(16).default(4),
      durationMs: ms(120_000).default(20_000),
      /** A moveip of that public IP to the next node this long into the flood. */
      moveipAfterMs: ms(120_000).optional(),
    })
    .strict(),
  z
    .object({
      action: z.literal('spoof-guid'),
      /** The victim: a simulated client by index. */
      victim: z.number().int().min(0).max(499).default(0),
      /**
       * other-node: to a node the victim is not on (its fixed address); same-node: to the victim's public
       * IP; same-node-fixed: to the fixed address of the victim's node.
       */
      where: z.enum(['other-node', 'same-node', 'same-node-fixed']),
      /** 2.0.2 only (a GUID means nothing there), or every dialect up to 3.1.1 as clients offer. */
      dialect: z.enum(['2.0.2', '3.1.1']).default('3.1.1'),
      connections: z.number().int().min(1).max(64).default(1),
      /** Held this long after the answer, then closed in order (FIN). */
      holdMs: ms(60_000).default(1000),
    })
    .strict(),
  z
    .object({
      action: z.literal('starved-burst'),
      node: nodeRef,
      /** Connections at once to the node's fixed address (connect → NEGOTIATE → answer, 10 s each). */
      connections: z.number().int().min(1).max(2000).default(200),
      /** The hogs end by themselves after this long at the latest (they are killed by pid before). */
      hogBoundMs: ms(120_000).default(30_000),
    })
    .strict(),
] as const;

export type HostileStep = Extract<Step, { action: 'idle-flood' | 'spoof-guid' | 'starved-burst' }>;

export function describeHostileStep(step: HostileStep): string {
  switch (step.action) {
    case 'idle-flood':
      return `${step.connections} idle connections from ${step.sources} addresses against node ${step.node}'s ${step.target === 'fixed' ? 'own address' : 'first public IP'} for ${step.durationMs} ms${step.moveipAfterMs === undefined ? '' : `, its first public IP moved after ${step.moveipAfterMs} ms`}`;
    case 'spoof-guid':
      return `${step.connections} SMB ${step.dialect} NEGOTIATE(s) with client c${step.victim}'s ClientGUID on ${{ 'other-node': 'another node', 'same-node': 'its own public IP', 'same-node-fixed': "its node's fixed address" }[step.where]}, closed after ${step.holdMs} ms`;
    case 'starved-burst':
      return `${step.connections} connections at once to node ${step.node} with a busy loop pinned to each of mccd's CPUs`;
  }
}
