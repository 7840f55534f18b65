import { bytesToHex } from '../wire/input.js';
import type { DiscoveryState } from './discovery.js';
import type { LocalAddress } from './enumerate.js';
import { smbConfInterfacesLine } from './smbconf.js';

/**
 * What `mcc interfaces` shows, whether mccd computed it (GET /v1/interfaces) or the CLI did offline: one
 * shape so the two answers can be compared field by field.
 */
export interface InterfacesReport {
  source: 'offline' | 'mccd';
  /** Where the public IPs left out came from (ctdbd, redis, --public-ips, ...). */
  publicIpSource: string;
  clusterKnown: boolean;
  announced: LocalAddress[];
  publicFiltered: string[];
  publicIps: string[];
  smbConf: string;
  wireHex: string;
  computedAt: number;
}

export function interfacesReport(
  source: InterfacesReport['source'],
  publicIpSource: string,
  state: DiscoveryState,
  publicIps: string[],
): InterfacesReport {
  return {
    source,
    publicIpSource,
    clusterKnown: state.clusterKnown,
    announced: state.announced,
    publicFiltered: state.publicFiltered,
    publicIps,
    smbConf: smbConfInterfacesLine(state.announced),
    wireHex: bytesToHex(state.encoded),
    computedAt: state.computedAt,
  };
}
