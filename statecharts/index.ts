export * from './break-retry.js';
export {
  CHANNEL_TRANSITIONS,
  type ChannelLifecycleEvent,
  channelMachine,
  nextChannelState,
} from './channel-machine.js';
export * from './channel-sequence.js';
export {
  type ClientEvent,
  type ClientInput,
  type ClientStateValue,
  clientMachine,
  clientStateName,
  type NewChannel,
  TEARDOWN_CAUSES,
  type TeardownLogic,
} from './client-machine.js';
export * from './lock-sequence.js';
export { toMermaid } from './mermaid.js';
export * from './persist.js';
export * from './registry.js';
export * from './types.js';
