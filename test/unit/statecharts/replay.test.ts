import { describe, expect, it } from 'vitest';
import {
  checkChannelSequence,
  completeChannelSequence,
  decodeLockSequence,
  encodeLockSequence,
  LockSequenceTable,
  lockSequenceApplies,
  newChannelSequenceState,
  STATUS_FILE_NOT_AVAILABLE,
} from '../../../statecharts/index.js';

// The cases smbtorture's smb2.lock.replay_* tests exercise against Samba and Windows.
describe('LockSequence replay', () => {
  it('decodes (bucket number << 4) | sequence, tracking bucket numbers 1..64 only', () => {
    expect(decodeLockSequence(encodeLockSequence(1, 5))).toEqual({ bucket: 1, sequence: 5 });
    expect(decodeLockSequence(encodeLockSequence(64, 15))).toEqual({ bucket: 64, sequence: 15 });
    expect(decodeLockSequence(0x0000000a).bucket).toBeUndefined(); // bucket 0
    expect(decodeLockSequence(encodeLockSequence(65, 1)).bucket).toBeUndefined();
  });

  it('a repeated sequence after a successful lock is a replay; a new one is processed', () => {
    const t = new LockSequenceTable();
    const s1 = encodeLockSequence(1, 1);
    expect(t.begin(s1)).toBe('process');
    t.complete(s1, true);
    expect(t.begin(s1)).toBe('replay');
    const s2 = encodeLockSequence(1, 2);
    expect(t.begin(s2)).toBe('process');
    t.complete(s2, true);
    expect(t.stored(1)).toBe(2);
  });

  it('a failed lock stores nothing, so its retry is processed again', () => {
    const t = new LockSequenceTable();
    const s = encodeLockSequence(2, 7);
    expect(t.begin(s)).toBe('process');
    t.complete(s, false);
    expect(t.begin(s)).toBe('process');
  });

  it('a new request invalidates its bucket while it runs (a replay of the old one is no longer one)', () => {
    const t = new LockSequenceTable();
    const old = encodeLockSequence(3, 4);
    t.begin(old);
    t.complete(old, true);
    t.begin(encodeLockSequence(3, 5));
    expect(t.stored(3)).toBeUndefined();
    expect(t.begin(old)).toBe('process');
  });

  it('buckets are independent, and bucket 0 / > 64 are never replays', () => {
    const t = new LockSequenceTable();
    for (let b = 1; b <= 64; b++) {
      t.begin(encodeLockSequence(b, b & 0xf));
      t.complete(encodeLockSequence(b, b & 0xf), true);
    }
    for (let b = 1; b <= 64; b++) expect(t.begin(encodeLockSequence(b, b & 0xf))).toBe('replay');
    const zero = 0x00000003;
    t.complete(zero, true);
    expect(t.begin(zero)).toBe('process');
  });

  it('applies to resilient opens from 2.1, and durable, persistent or multi-channel from 3.0', () => {
    expect(lockSequenceApplies({ dialect: 0x0202, resilient: true })).toBe(false);
    expect(lockSequenceApplies({ dialect: 0x0210, resilient: true })).toBe(true);
    expect(lockSequenceApplies({ dialect: 0x0210, durable: true })).toBe(false);
    expect(lockSequenceApplies({ dialect: 0x0300, durable: true })).toBe(true);
    expect(lockSequenceApplies({ dialect: 0x0311, multiChannel: true })).toBe(true);
    expect(lockSequenceApplies({ dialect: 0x0311 })).toBe(false);
  });
});

describe('ChannelSequence (MS-SMB2 3.3.5.2.10)', () => {
  it('counts requests on the current sequence and moves on to a newer one', () => {
    let s = newChannelSequenceState();
    const a = checkChannelSequence(s, 0, false);
    expect(a.accept).toBe(true);
    if (a.accept) s = a.state;
    const b = checkChannelSequence(s, 1, false);
    expect(b).toMatchObject({ accept: true, countedAs: 'previous-bumped' });
    if (b.accept) s = b.state;
    expect(s).toEqual({ channelSequence: 1, outstandingRequestCount: 1, outstandingPreRequestCount: 1 });
  });

  it('refuses a stale sequence with STATUS_FILE_NOT_AVAILABLE, across the 16-bit wrap too', () => {
    const s = { channelSequence: 5, outstandingRequestCount: 0, outstandingPreRequestCount: 0 };
    expect(checkChannelSequence(s, 4, false)).toEqual({
      accept: false,
      status: STATUS_FILE_NOT_AVAILABLE,
      reason: 'stale-sequence',
    });
    const wrapped = { channelSequence: 0xfffe, outstandingRequestCount: 0, outstandingPreRequestCount: 0 };
    expect(checkChannelSequence(wrapped, 1, false).accept).toBe(true);
    expect(checkChannelSequence({ ...wrapped, channelSequence: 1 }, 0xfffe, false).accept).toBe(false);
  });

  it('refuses a replay while requests of the previous sequence are outstanding, and accepts it once they finish', () => {
    let s = { channelSequence: 0, outstandingRequestCount: 1, outstandingPreRequestCount: 0 };
    expect(checkChannelSequence(s, 1, true)).toEqual({
      accept: false,
      status: STATUS_FILE_NOT_AVAILABLE,
      reason: 'replay-with-outstanding',
    });
    const moved = checkChannelSequence(s, 1, false);
    if (!moved.accept) throw new Error('expected accept');
    s = completeChannelSequence(moved.state, 0);
    s = completeChannelSequence(s, 1);
    expect(s).toEqual({ channelSequence: 1, outstandingRequestCount: 0, outstandingPreRequestCount: 0 });
    expect(checkChannelSequence(s, 1, true).accept).toBe(true);
  });
});
