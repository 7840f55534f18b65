/**
 * ChannelSequence verification for replayed requests on multi-channel (MS-SMB2 3.3.5.2.10). A client that
 * moves an open's I/O to another channel bumps ChannelSequence; requests carrying an older sequence are
 * refused with STATUS_FILE_NOT_AVAILABLE, as are replays while requests of the previous sequence are
 * still outstanding.
 *
 * Nothing in mccd drives this: mccd hands connections off before any SMB2 request past NEGOTIATE, so it
 * never sees a replayed request. It is meant for a worker that implements SMB2 itself (the other side of
 * the worker protocol, docs/worker-protocol.md), linking statecharts/ as a library; until one exists it is
 * exercised by its tests.
 */
export const STATUS_FILE_NOT_AVAILABLE = 0xc0000467;

export interface ChannelSequenceState {
  channelSequence: number;
  outstandingRequestCount: number;
  outstandingPreRequestCount: number;
}

export function newChannelSequenceState(): ChannelSequenceState {
  return { channelSequence: 0, outstandingRequestCount: 0, outstandingPreRequestCount: 0 };
}

export type ChannelSequenceDecision =
  | { accept: true; state: ChannelSequenceState; countedAs: 'current' | 'previous-bumped' }
  | {
      accept: false;
      status: typeof STATUS_FILE_NOT_AVAILABLE;
      reason: 'stale-sequence' | 'replay-with-outstanding';
    };

/** For WRITE, SET_INFO and IOCTL on an open of a 3.x connection. Pure: returns the next state. */
export function checkChannelSequence(
  state: ChannelSequenceState,
  requestSequence: number,
  replayFlag: boolean,
): ChannelSequenceDecision {
  const seq = requestSequence & 0xffff;
  let next: ChannelSequenceState;
  let countedAs: 'current' | 'previous-bumped';
  if (seq === state.channelSequence) {
    next = { ...state, outstandingRequestCount: state.outstandingRequestCount + 1 };
    countedAs = 'current';
  } else if (((seq - state.channelSequence) & 0xffff) <= 0x7fff) {
    next = {
      channelSequence: seq,
      outstandingPreRequestCount: state.outstandingPreRequestCount + state.outstandingRequestCount,
      outstandingRequestCount: 1,
    };
    countedAs = 'previous-bumped';
  } else {
    return { accept: false, status: STATUS_FILE_NOT_AVAILABLE, reason: 'stale-sequence' };
  }
  if (replayFlag && next.outstandingPreRequestCount > 0) {
    return { accept: false, status: STATUS_FILE_NOT_AVAILABLE, reason: 'replay-with-outstanding' };
  }
  return { accept: true, state: next, countedAs };
}

/** When an accepted request completes: it counted against the sequence it arrived with. */
export function completeChannelSequence(
  state: ChannelSequenceState,
  requestSequence: number,
): ChannelSequenceState {
  if ((requestSequence & 0xffff) === state.channelSequence && state.outstandingRequestCount > 0) {
    return { ...state, outstandingRequestCount: state.outstandingRequestCount - 1 };
  }
  return { ...state, outstandingPreRequestCount: Math.max(0, state.outstandingPreRequestCount - 1) };
}
