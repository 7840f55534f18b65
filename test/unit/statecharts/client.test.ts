import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock, transition } from 'xstate';
import {
  CHANNEL_TRANSITIONS,
  type ChannelState,
  ClientRegistry,
  channelMachine,
  clientMachine,
  type NewChannel,
  toMermaid,
} from '../../../statecharts/index.js';
import { MAX_CHANNELS_PER_CLIENT } from '../../../statecharts/types.js';

const G1 = '11111111-1111-4111-8111-111111111111';
const G2 = '22222222-2222-4222-8222-222222222222';
const PUBLIC = '10.213.0.101';
const FIXED = '10.213.0.1';

function chan(local: string, port: number, onPublicIp = local === PUBLIC): NewChannel {
  return {
    tuple: { localAddress: local, localPort: 445, remoteAddress: '10.213.0.200', remotePort: port },
    transport: 'tcp',
    onPublicIp,
    createdAt: 0,
  };
}

describe('channel machine', () => {
  it('the derived table is exactly what xstate computes for every state and event', () => {
    const events = ['HANDED_OFF', 'BOUND', 'ACTIVATED', 'FAILING', 'RECOVERED', 'CLOSED'] as const;
    for (const state of Object.keys(CHANNEL_TRANSITIONS) as ChannelState[]) {
      for (const type of events) {
        const snapshot = channelMachine.resolveState({ value: state, context: undefined as never });
        const [next] = transition(channelMachine, snapshot, { type });
        const expected = CHANNEL_TRANSITIONS[state][type];
        expect(next.value, `${state} + ${type}`).toBe(expected ?? state);
      }
    }
  });
});

describe('client rules', () => {
  it('RELEASE_IP of an address one channel uses tears the WHOLE client down; a client not on it is untouched', () => {
    const reg = new ClientRegistry();
    reg.acceptChannel(G1, chan(PUBLIC, 1000));
    reg.acceptChannel(G1, chan(FIXED, 1001));
    reg.acceptChannel(G2, chan(FIXED, 2000));
    const g2Before = reg.view(G2);
    expect(reg.releaseIp(PUBLIC)).toEqual([G1]);
    const g1 = reg.view(G1)!;
    expect(g1.state).toBe('tearingDown');
    expect(g1.context.channels).toEqual([]);
    expect(g1.context.closedByTeardown.map((c) => [c.id, c.tuple.remotePort, c.state])).toEqual([
      [1, 1000, 'closed'],
      [2, 1001, 'closed'],
    ]);
    expect(g1.context.teardownReason).toEqual({ kind: 'release-ip', ip: PUBLIC });
    expect(reg.view(G2)).toEqual(g2Before);
  });

  it('a channel closing ends that channel only, on a public IP too; RELEASE_IP of an IP the client just lost a channel on ends the rest', () => {
    const reg = new ClientRegistry();
    reg.acceptChannel(G1, chan(FIXED, 1));
    reg.acceptChannel(G1, chan(FIXED, 2));
    reg.send(G1, { type: 'CHANNEL_CLOSED', channelId: 1 });
    expect(reg.view(G1)?.state).toBe('negotiating');
    expect(reg.view(G1)?.context.channels.map((c) => c.id)).toEqual([2]);
    // Anyone who knows the GUID can open and close a channel on a public IP: that ends only that channel.
    reg.acceptChannel(G1, chan(PUBLIC, 3));
    reg.send(G1, { type: 'CHANNEL_CLOSED', channelId: 3, at: 1000 });
    expect(reg.view(G1)?.state).toBe('negotiating');
    expect(reg.view(G1)?.context.channels.map((c) => c.id)).toEqual([2]);
    // ctdb's releaseip reset that channel before RELEASE_IP arrived: the release still ends the client.
    reg.send(G1, { type: 'RELEASE_IP', ip: PUBLIC, at: 1500 });
    expect(reg.view(G1)?.state).toBe('tearingDown');
    expect(reg.view(G1)?.context.teardownReason).toEqual({ kind: 'release-ip', ip: PUBLIC });
  });

  it('a channel lost on a public IP long before its release does not count', () => {
    const reg = new ClientRegistry();
    reg.acceptChannel(G1, chan(FIXED, 1));
    reg.acceptChannel(G1, chan(PUBLIC, 2));
    reg.send(G1, { type: 'CHANNEL_CLOSED', channelId: 2, at: 1000 });
    reg.send(G1, { type: 'RELEASE_IP', ip: PUBLIC, at: 1000 + 61_000 });
    expect(reg.view(G1)?.state).toBe('negotiating');
  });

  it('a DROP from another node tears the client down and a channel after teardown began is refused', () => {
    const reg = new ClientRegistry();
    reg.acceptChannel(G1, chan(FIXED, 1));
    reg.send(G1, { type: 'DROP', toNode: 2 });
    expect(reg.view(G1)?.context.teardownReason).toEqual({ kind: 'dropped', toNode: 2 });
    expect(reg.acceptChannel(G1, chan(FIXED, 2))).toEqual({ accepted: false, reason: 'tearing-down' });
    expect(reg.view(G1)?.context.refusedChannels).toBe(1);
  });

  it('accepts at most MAX_CHANNELS_PER_CLIENT channels per client (a bound on records, far above smbd’s 32 per session)', () => {
    const reg = new ClientRegistry();
    for (let i = 0; i < MAX_CHANNELS_PER_CLIENT; i++)
      expect(reg.acceptChannel(G1, chan(FIXED, i)).accepted).toBe(true);
    expect(reg.acceptChannel(G1, chan(FIXED, 99))).toEqual({ accepted: false, reason: 'channel-limit' });
  });

  it('a client never changes owner, and an owner crash tears down only its own clients', () => {
    const reg = new ClientRegistry();
    reg.acceptChannel(G1, chan(FIXED, 1));
    reg.acceptChannel(G2, chan(FIXED, 2));
    expect(reg.assignOwner(G1, { kind: 'worker', id: 'w1' })).toBe(true);
    expect(reg.assignOwner(G1, { kind: 'worker', id: 'w2' })).toBe(false);
    expect(reg.assignOwner(G2, { kind: 'worker', id: 'w2' })).toBe(true);
    expect(reg.ownerCrashed('w1')).toEqual([G1]);
    expect(reg.view(G1)?.context.teardownReason).toEqual({ kind: 'owner-crashed', owner: 'w1' });
    expect(reg.view(G2)?.state).toBe('negotiating');
  });

  it('losing the cluster daemon tears down exactly the clients with a channel on a public IP', () => {
    const reg = new ClientRegistry();
    reg.acceptChannel(G1, chan(PUBLIC, 1));
    reg.acceptChannel(G2, chan(FIXED, 2));
    expect(reg.clusterLost()).toEqual([G1]);
    expect(reg.view(G2)?.state).toBe('negotiating');
  });

  it('channel lifecycle: activation makes the client active even without a reported dialect', () => {
    const reg = new ClientRegistry();
    reg.acceptChannel(G1, chan(FIXED, 1));
    reg.send(G1, { type: 'CHANNEL_EVENT', channelId: 1, event: 'HANDED_OFF' });
    reg.send(G1, { type: 'CHANNEL_EVENT', channelId: 1, event: 'RECOVERED' }); // not allowed from handedOff
    expect(reg.view(G1)?.context.channels[0]?.state).toBe('handedOff');
    reg.send(G1, { type: 'CHANNEL_EVENT', channelId: 1, event: 'ACTIVATED' });
    expect(reg.view(G1)?.state).toBe('active');
    expect(reg.view(G1)?.context.channels[0]?.state).toBe('active');
  });

  it('teardown ends at TEARDOWN_DONE, or at the timeout on the simulated clock; gone clients leave the registry', async () => {
    const clock = new SimulatedClock();
    const reg = new ClientRegistry({ clock, teardownTimeoutMs: 5000 });
    const transitions: string[] = [];
    reg.on('transition', (t) => transitions.push(`${t.clientGuid.slice(0, 1)}:${t.from ?? '-'}>${t.to}`));
    reg.acceptChannel(G1, chan(FIXED, 1));
    reg.acceptChannel(G2, chan(FIXED, 2));
    reg.send(G1, { type: 'ADMIN_TEARDOWN' });
    reg.send(G2, { type: 'ADMIN_TEARDOWN' });
    reg.send(G1, { type: 'TEARDOWN_DONE' });
    clock.increment(4999);
    expect(reg.view(G2)?.state).toBe('tearingDown');
    clock.increment(1);
    await Promise.resolve();
    expect(reg.has(G1)).toBe(false);
    expect(reg.has(G2)).toBe(false);
    expect(transitions).toEqual([
      '1:->negotiating',
      '2:->negotiating',
      '1:negotiating>tearingDown',
      '2:negotiating>tearingDown',
      '1:tearingDown>gone',
      '2:tearingDown>gone',
    ]);
  });

  it('a snapshot restores to identical state', () => {
    const reg = new ClientRegistry();
    reg.acceptChannel(G1, chan(PUBLIC, 1));
    reg.assignOwner(G1, { kind: 'smbd', id: 'smbd-1234', pid: 1234 });
    reg.send(G1, { type: 'NEGOTIATED', dialect: 0x0311 });
    reg.acceptChannel(G2, chan(FIXED, 2));
    reg.send(G2, { type: 'DROP', toNode: 1 });
    const snap = JSON.parse(JSON.stringify(reg.snapshot()));
    const restored = new ClientRegistry();
    restored.restore(snap);
    const byGuid = (r: ClientRegistry) =>
      [...r.views()].sort((a, b) => a.clientGuid.localeCompare(b.clientGuid));
    expect(byGuid(restored)).toEqual(byGuid(reg));
    // The restored client that was tearing down is awake: its teardown timer runs.
    expect(restored.view(G2)?.state).toBe('tearingDown');
    expect(() => restored.restore({ ...snap, version: 99 })).toThrow(/version 99/);
  });

  it('machines print as Mermaid with named guards', () => {
    const text = toMermaid(clientMachine);
    expect(text).toContain('client_connected --> client_tearingDown: RELEASE_IP [hasChannelOnReleasedIp]');
    expect(text).toContain('client_tearingDown --> client_gone: after teardownTimeout');
    expect(text).toContain('[and(channelTransitionAllowed, isActivation)]');
  });

  it('folded events: an owner offered with the first channel, NEGOTIATED with a channel activates it', () => {
    const reg = new ClientRegistry();
    const w1 = { kind: 'worker' as const, id: 'w1', pid: 1 };
    reg.acceptChannel(G1, chan(FIXED, 1), w1);
    // A later offer never replaces the owner (as OWNER_ASSIGNED's guard).
    reg.acceptChannel(G1, chan(FIXED, 2), { kind: 'worker', id: 'w2', pid: 2 });
    expect(reg.view(G1)?.context.owner).toEqual(w1);
    reg.send(G1, { type: 'CHANNEL_EVENT', channelId: 1, event: 'HANDED_OFF' });
    reg.send(G1, { type: 'NEGOTIATED', dialect: 0x0311, channelId: 1 });
    // Channel 2 was never handed off: ACTIVATED is not allowed from accepted, so it stays.
    reg.send(G1, { type: 'NEGOTIATED', dialect: 0x0311, channelId: 2 });
    const v = reg.view(G1)!;
    expect(v.state).toBe('active');
    expect(v.context.dialect).toBe(0x0311);
    expect(v.context.channels.map((c) => [c.id, c.state])).toEqual([
      [1, 'active'],
      [2, 'accepted'],
    ]);
    // The same as the two events it replaces.
    const two = new ClientRegistry();
    two.acceptChannel(G1, chan(FIXED, 1));
    two.assignOwner(G1, w1);
    two.acceptChannel(G1, chan(FIXED, 2));
    two.send(G1, { type: 'CHANNEL_EVENT', channelId: 1, event: 'HANDED_OFF' });
    two.send(G1, { type: 'NEGOTIATED', dialect: 0x0311 });
    two.send(G1, { type: 'CHANNEL_EVENT', channelId: 1, event: 'ACTIVATED' });
    two.send(G1, { type: 'CHANNEL_EVENT', channelId: 2, event: 'ACTIVATED' });
    expect({ ...two.view(G1)!.context, createdAt: 0 }).toEqual({ ...v.context, createdAt: 0 });
  });

  it('a client actor can be used on its own (the worker side links the library)', () => {
    const actor = createActor(clientMachine, { input: { clientGuid: G1, createdAt: 0 } }).start();
    actor.send({ type: 'CHANNEL_ACCEPTED', channel: chan(FIXED, 1) });
    actor.send({ type: 'NEGOTIATED', dialect: 0x0302 });
    expect(actor.getSnapshot().value).toEqual({ connected: 'active' });
    actor.stop();
  });
});
