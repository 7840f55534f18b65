import type { ByteReader, ByteWriter } from '../../wire/cursor.js';
import { formatIpv4, formatIpv6, parseIp } from '../../wire/ip.js';

/** ctdb_sock_addr: a 28-byte union of sockaddr_in / sockaddr_in6, family in host order. */
export const CTDB_SOCKADDR_LEN = 28;
const AF_INET = 2;
const AF_INET6 = 10;

export interface CtdbSockAddr {
  address: string;
  port: number;
}

export function sockaddrPull(r: ByteReader, at: number): CtdbSockAddr {
  r.need(at, CTDB_SOCKADDR_LEN, 'ctdb_sock_addr');
  const family = r.u16(at);
  const port = r.u16be(at + 2);
  if (family === AF_INET) return { address: formatIpv4(r.slice(at + 4, 4)), port };
  if (family === AF_INET6) return { address: formatIpv6(r.slice(at + 8, 16)), port };
  return r.fail('BAD_FAMILY', `ctdb_sock_addr family ${family} is neither AF_INET nor AF_INET6`, at);
}

export function sockaddrPush(addr: CtdbSockAddr, w: ByteWriter, at: number): void {
  const ip = parseIp(addr.address);
  w.u16(at, ip.family === 'ipv4' ? AF_INET : AF_INET6);
  w.u16be(at + 2, addr.port);
  w.set(at + (ip.family === 'ipv4' ? 4 : 8), ip.bytes);
}
