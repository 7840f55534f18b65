/**
 * mcc's native layer: fd handoff (SCM_RIGHTS over SOCK_SEQPACKET), socket introspection (MSG_PEEK,
 * SO_PEERCRED, TCP_INFO, SIOCOUTQ), teardown by 4-tuple (SOCK_DESTROY), shared memory and SMB-Direct
 * probes. Importing this module fails with a clear message when the addon is missing or stale.
 */

export * from './acceptor.js';
export {
  type CarrierMessage,
  carrierPair,
  connectCarrier,
  SeqpacketCarrier,
  SeqpacketServer,
} from './carrier.js';
export { NativeError } from './errors.js';
export { FdSet } from './fd-set.js';
export * from './memory.js';
export * from './smbdirect.js';
export * from './sockets.js';
