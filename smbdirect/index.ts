export * from './channel.js';
export {
  type ClientRegion,
  SmbdTestClient,
  SmbdTestError,
  type TransportKind,
  TransportUnavailableError,
} from './client.js';
export * from './protocol.js';
export * from './regions.js';
export { SmbdTestServer } from './server.js';
