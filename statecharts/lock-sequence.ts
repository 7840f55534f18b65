/**
 * LockSequence replay detection (MS-SMB2 3.3.5.14; seed 1.1). Each open has 64 buckets; a request's
 * LockSequence is (bucket number << 4) | (sequence mod 16) with bucket numbers 1..64. Bucket 0 and numbers
 * above 64 are not tracked. A request whose sequence equals the stored one is a replay: answer success
 * without locking again. Otherwise the entry is invalidated while the request runs and the sequence is
 * stored only after the lock succeeded.
 *
 * Nothing in mccd drives this: mccd hands connections off before any SMB2 request past NEGOTIATE, so it
 * never sees a LOCK request. It is meant for a worker that implements SMB2 itself (the other side of the
 * worker protocol, docs/worker-protocol.md), linking statecharts/ as a library; until one exists it is
 * exercised by its tests.
 */
export const LOCK_SEQUENCE_BUCKETS = 64;
/** Entries start invalid (0xFF can never equal a 4-bit sequence), as in Samba. */
const INVALID = 0xff;

export interface DecodedLockSequence {
  /** 1..64 when tracked, else undefined. */
  bucket: number | undefined;
  sequence: number;
}

export function decodeLockSequence(lockSequence: number): DecodedLockSequence {
  const bucket = (lockSequence >>> 4) & 0x0fffffff;
  return {
    bucket: bucket >= 1 && bucket <= LOCK_SEQUENCE_BUCKETS ? bucket : undefined,
    sequence: lockSequence & 0xf,
  };
}

export function encodeLockSequence(bucket: number, sequence: number): number {
  return ((bucket << 4) | (sequence & 0xf)) >>> 0;
}

export interface OpenTraits {
  dialect: number;
  resilient?: boolean;
  durable?: boolean;
  persistent?: boolean;
  /** The session has (or may have) more than one channel: SMB 3.x multi-channel. */
  multiChannel?: boolean;
}

/** Whether lock sequences are checked for an open: resilient from 2.1; durable, persistent or multi-channel from 3.0. */
export function lockSequenceApplies(open: OpenTraits): boolean {
  if (open.dialect < 0x0210) return false;
  if (open.resilient) return true;
  return (
    open.dialect >= 0x0300 &&
    (open.durable === true || open.persistent === true || open.multiChannel === true)
  );
}

export type LockDecision = 'replay' | 'process';

export class LockSequenceTable {
  private readonly entries = new Uint8Array(LOCK_SEQUENCE_BUCKETS).fill(INVALID);

  /** Called when a LOCK request arrives. 'replay' → reply success without touching locks. */
  begin(lockSequence: number): LockDecision {
    const { bucket, sequence } = decodeLockSequence(lockSequence);
    if (bucket === undefined) return 'process';
    if (this.entries[bucket - 1] === sequence) return 'replay';
    this.entries[bucket - 1] = INVALID;
    return 'process';
  }

  /** Called when a processed LOCK request completes; only success stores the sequence. */
  complete(lockSequence: number, succeeded: boolean): void {
    const { bucket, sequence } = decodeLockSequence(lockSequence);
    if (bucket === undefined || !succeeded) return;
    this.entries[bucket - 1] = sequence;
  }

  stored(bucket: number): number | undefined {
    const v = this.entries[bucket - 1];
    return v === undefined || v === INVALID ? undefined : v;
  }
}
