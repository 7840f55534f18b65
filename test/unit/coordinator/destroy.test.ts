import { describe, expect, it } from 'vitest';
import { describeDestroys } from '../../../coordinator/backends/destroy.js';
import type { ChannelRecord } from '../../../statecharts/types.js';

const channel = (id: number, remotePort: number): ChannelRecord => ({
  id,
  state: 'closed',
  tuple: { localAddress: '10.0.0.1', localPort: 445, remoteAddress: '10.0.0.9', remotePort },
  transport: 'tcp',
  onPublicIp: false,
  createdAt: 0,
});

describe('describeDestroys', () => {
  it('counts what SOCK_DESTROY did and names only the channels it could not kill; gone already is not a failure', () => {
    const channels = [channel(1, 40001), channel(2, 40002), channel(3, 40003)];
    expect(describeDestroys(channels, ['destroyed', 'not-found', { errno: 1 }])).toEqual({
      killed: 1,
      alreadyGone: 1,
      failed: [{ tuple: '10.0.0.1:445<-10.0.0.9:40003', errno: 1 }],
    });
    expect(describeDestroys(channels, ['destroyed', 'destroyed', 'destroyed']).failed).toEqual([]);
  });
});
