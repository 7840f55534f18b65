import type { AnyStateMachine } from 'xstate';

interface NodeLike {
  key: string;
  id: string;
  type: string;
  initial?: { target: NodeLike[] } | undefined;
  states: Record<string, NodeLike>;
  transitions: Map<string, { target?: NodeLike[] | undefined; guard?: unknown }[]>;
  always?: { target?: NodeLike[] | undefined; guard?: unknown }[] | undefined;
}

function guardText(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  const g = guard as { type?: string; guards?: unknown[]; name?: string };
  if (g.type) return g.type;
  // and()/or()/not() from xstate are functions carrying the guards they combine.
  if (Array.isArray(g.guards))
    return `${g.name?.replace(/Guard$/, '') || 'all'}(${g.guards.map(guardText).join(', ')})`;
  return 'guard';
}

function guardName(guard: unknown): string {
  return guard ? ` [${guardText(guard)}]` : '';
}

function eventLabel(event: string): string {
  const after = /^xstate\.after\.([^.]+)\./.exec(event);
  return after ? `after ${after[1]}` : event;
}

/** The machine's states and transitions as a Mermaid stateDiagram-v2, for docs/. */
export function toMermaid(machine: AnyStateMachine): string {
  const lines = ['stateDiagram-v2'];
  const name = (n: NodeLike) => n.id.replace(/\./g, '_');
  const walk = (node: NodeLike, indent: string) => {
    const children = Object.values(node.states);
    if (node.initial?.target[0]) lines.push(`${indent}[*] --> ${name(node.initial.target[0])}`);
    for (const child of children) {
      if (Object.keys(child.states).length > 0) {
        lines.push(`${indent}state ${name(child)} {`);
        walk(child, `${indent}  `);
        lines.push(`${indent}}`);
      }
      if (child.type === 'final') lines.push(`${indent}${name(child)} --> [*]`);
      for (const [event, defs] of child.transitions) {
        for (const def of defs) {
          const targets = def.target ?? [];
          for (const t of targets)
            lines.push(`${indent}${name(child)} --> ${name(t)}: ${eventLabel(event)}${guardName(def.guard)}`);
          if (targets.length === 0)
            lines.push(
              `${indent}${name(child)} --> ${name(child)}: ${eventLabel(event)}${guardName(def.guard)}`,
            );
        }
      }
      for (const def of child.always ?? []) {
        for (const t of def.target ?? [])
          lines.push(`${indent}${name(child)} --> ${name(t)}: always${guardName(def.guard)}`);
      }
    }
  };
  walk(machine.root as unknown as NodeLike, '  ');
  return `${lines.join('\n')}\n`;
}
