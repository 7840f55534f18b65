/**
 * The teardowns a restart could not work out again by itself, written before they are carried out.
 *
 * The state file lags by up to state.writeIntervalMs. A teardown begun in that gap and cut short by a
 * kill -9 would come back as a connected client. For most causes the truth brings it down again anyway
 * (a released IP is no longer this node's; a lost channel is gone from the kernel; a crashed worker does
 * not come back), but a client dropped because another node took it (`dropped`), or ended by an operator,
 * would live on: split between two nodes. So those are appended here, one JSON line each, synchronously
 * before the teardown acts (a write() outlives the process; fsync matters only for a power loss, which
 * ends every connection anyway), and the journal is cut back once a full state write covers them.
 */
import { appendFileSync, closeSync, fstatSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import type { TeardownReason, TeardownRequest } from '../statecharts/types.js';
import { WireError } from '../wire/errors.js';
import { decodeJson } from '../wire/json.js';
import { guidSchema, reasonSchema } from './state-file.js';

/** Causes a restart cannot re-derive from the kernel, the cluster or the owners. */
const JOURNALED: ReadonlySet<TeardownReason['kind']> = new Set([
  'dropped',
  'admin',
  'unmatched-after-restart',
]);

export const journalEntrySchema = z
  .object({ clientGuid: guidSchema, reason: reasonSchema, at: z.number().int().min(0) })
  .strict();
export type JournalEntry = z.infer<typeof journalEntrySchema>;

export class TeardownJournal {
  private pending: string[] = [];
  /** The file may still hold a previous mccd's entries, until the first state write of this one. */
  private inherited = true;

  constructor(readonly path: string) {}

  /** Called by the teardown actor before it acts. */
  note(request: TeardownRequest, now = Date.now()): void {
    if (!JOURNALED.has(request.reason.kind)) return;
    const line = `${JSON.stringify({ clientGuid: request.clientGuid, reason: request.reason, at: now })}\n`;
    appendFileSync(this.path, line, { mode: 0o600 });
    this.pending.push(line);
  }

  /** How many entries a state snapshot taken now covers. */
  mark(): number {
    return this.pending.length;
  }

  /**
   * A state file with the snapshot taken at `mark` is on disk: those entries are no longer needed, and
   * neither are a previous mccd's (the restored state carried them out). Left in place, an old entry
   * would tear down, at the next restart, a client that has since reconnected under the same GUID.
   */
  covered(mark: number): void {
    if (mark === 0 && !this.inherited) return;
    this.pending = this.pending.slice(mark);
    writeFileSync(this.path, this.pending.join(''), { mode: 0o600 });
    this.inherited = false;
  }
}

/**
 * The journal's entries; a line that does not parse (the last one, torn by the crash) is counted and
 * skipped with its typed error. Bounded like the state file.
 */
export function readTeardownJournal(
  path: string,
  maxBytes: number,
): { entries: JournalEntry[]; bad: WireError[] } {
  let text: string;
  try {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size > maxBytes)
        return {
          entries: [],
          bad: [new WireError('OVERSIZED', `teardown journal of ${size} bytes exceeds ${maxBytes}`, 0)],
        };
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return { entries: [], bad: [] };
  }
  return parseTeardownJournal(text);
}

export function parseTeardownJournal(text: string): { entries: JournalEntry[]; bad: WireError[] } {
  const entries: JournalEntry[] = [];
  const bad: WireError[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const r = decodeJson(journalEntrySchema, Buffer.from(line, 'utf8'), 'teardown journal line');
    if (r.ok) entries.push(r.value as JournalEntry);
    else bad.push(r.error);
  }
  return { entries, bad };
}
