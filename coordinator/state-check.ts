/**
 * The state file's client record check, written out by hand. The zod schema in state-file.ts is the
 * specification; this is the same predicate without zod's cost: zod copies every object it checks and
 * builds a context per value, which at 100k clients was 2.1 s of a restart's 2.3 s (benchmark B7), while
 * clients queued behind mccd.socket. It checks the record JSON.parse made in place and copies nothing.
 *
 * It must accept exactly what the schema accepts (test/property/state-check.property.test.ts checks the
 * two against each other on valid, mutated and random records). The reader also asks zod whenever this
 * says no, for the message, and keeps zod's verdict: so a record this wrongly refused would cost time
 * only, never the client.
 */
import type { ClientRecord } from '../statecharts/persist.js';
import { MAX_CHANNELS_PER_CLIENT } from '../statecharts/types.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const IP = /^[0-9A-Za-z:.%_-]+$/;

const CLIENT_KEYS = new Set([
  'clientGuid',
  'state',
  'owner',
  'dialect',
  'channels',
  'nextChannelId',
  'createdAt',
  'teardown',
  'lostPublicIps',
]);
const CHANNEL_KEYS = new Set([
  'id',
  'state',
  'tuple',
  'interfaceName',
  'transport',
  'onPublicIp',
  'createdAt',
]);
const TUPLE_KEYS = new Set(['localAddress', 'localPort', 'remoteAddress', 'remotePort']);
const OWNER_KEYS = new Set(['kind', 'id', 'pid']);
const LOST_KEYS = new Set(['ip', 'at']);
const REASON_KEYS: Record<string, ReadonlySet<string>> = {
  'release-ip': new Set(['kind', 'ip']),
  dropped: new Set(['kind', 'toNode']),
  'owner-crashed': new Set(['kind', 'owner']),
  admin: new Set(['kind', 'by']),
  'cluster-lost': new Set(['kind']),
  'unmatched-after-restart': new Set(['kind', 'why']),
};
const CLIENT_STATES = new Set(['negotiating', 'active', 'tearingDown']);
const CHANNEL_STATES = new Set(['accepted', 'handedOff', 'bound', 'active', 'failing', 'closed']);

type Obj = Record<string, unknown>;

/** What zod calls an object (JSON.parse makes nothing else that zod would call a promise, map, set or date). */
function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A .strict() object: every key (own or inherited enumerable, as zod's for-in sees them) is in the shape. */
function onlyKeys(o: Obj, keys: ReadonlySet<string>): boolean {
  for (const k in o) if (!keys.has(k)) return false;
  return true;
}

/** z.number().int().min(min).max(max); NaN is not a number to zod, and not an integer either. */
function isInt(v: unknown, min: number, max: number): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

function isString(v: unknown, min: number, max: number): v is string {
  return typeof v === 'string' && v.length >= min && v.length <= max;
}

const isIp = (v: unknown) => isString(v, 2, 64) && IP.test(v);
const isPort = (v: unknown) => isInt(v, 0, 65535);
const isTime = (v: unknown) => isInt(v, 0, 8.64e15);
/** Optional: absent (JSON has no undefined value; a null is not absent, and is refused like zod does). */
const absent = (o: Obj, k: string) => o[k] === undefined;

function isTuple(v: unknown): boolean {
  return (
    isObject(v) &&
    onlyKeys(v, TUPLE_KEYS) &&
    isIp(v.localAddress) &&
    isPort(v.localPort) &&
    isIp(v.remoteAddress) &&
    isPort(v.remotePort)
  );
}

function isChannel(v: unknown): boolean {
  return (
    isObject(v) &&
    onlyKeys(v, CHANNEL_KEYS) &&
    isInt(v.id, 1, 0xffffffff) &&
    typeof v.state === 'string' &&
    CHANNEL_STATES.has(v.state) &&
    isTuple(v.tuple) &&
    (absent(v, 'interfaceName') || isString(v.interfaceName, 1, 64)) &&
    (v.transport === 'tcp' || v.transport === 'rdma') &&
    typeof v.onPublicIp === 'boolean' &&
    isTime(v.createdAt)
  );
}

function isOwner(v: unknown): boolean {
  return (
    isObject(v) &&
    onlyKeys(v, OWNER_KEYS) &&
    isString(v.kind, 1, 16) &&
    isString(v.id, 1, 64) &&
    (absent(v, 'pid') || isInt(v.pid, 1, 0x7fffffff))
  );
}

/** reasonSchema: a discriminated union on `kind`, each member strict. */
function isReason(v: unknown): boolean {
  if (!isObject(v) || typeof v.kind !== 'string' || !Object.hasOwn(REASON_KEYS, v.kind)) return false;
  if (!onlyKeys(v, REASON_KEYS[v.kind]!)) return false;
  switch (v.kind) {
    case 'release-ip':
      return isString(v.ip, 0, 64);
    case 'dropped':
      return isInt(v.toNode, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
    case 'owner-crashed':
      return isString(v.owner, 0, 64);
    case 'admin':
      return absent(v, 'by') || isString(v.by, 0, 200);
    case 'unmatched-after-restart':
      return isString(v.why, 0, 200);
    default:
      return true; // cluster-lost: its kind alone
  }
}

function isLost(v: unknown): boolean {
  return isObject(v) && onlyKeys(v, LOST_KEYS) && isIp(v.ip) && isTime(v.at);
}

/** Channel ids below nextChannelId and distinct (the schema's refinements). */
function idsFit(channels: readonly Obj[], next: number): boolean {
  for (const ch of channels) if ((ch.id as number) >= next) return false;
  if (channels.length < 2) return true;
  if (channels.length === 2) return channels[0]!.id !== channels[1]!.id;
  return new Set(channels.map((ch) => ch.id)).size === channels.length;
}

/** True when `v` is a client record the state file's zod schema accepts. */
export function isClientRecord(v: unknown): v is ClientRecord {
  if (!isObject(v) || !onlyKeys(v, CLIENT_KEYS)) return false;
  if (!isString(v.clientGuid, 0, Number.POSITIVE_INFINITY) || !GUID.test(v.clientGuid)) return false;
  if (typeof v.state !== 'string' || !CLIENT_STATES.has(v.state)) return false;
  if (!absent(v, 'owner') && !isOwner(v.owner)) return false;
  if (!absent(v, 'dialect') && !isInt(v.dialect, 0, 0xffff)) return false;
  const channels = v.channels;
  if (!Array.isArray(channels) || channels.length > MAX_CHANNELS_PER_CLIENT) return false;
  for (const ch of channels) if (!isChannel(ch)) return false;
  if (!isInt(v.nextChannelId, 1, 0xffffffff + 1) || !isTime(v.createdAt)) return false;
  if (!absent(v, 'teardown') && !isReason(v.teardown)) return false;
  const lost = v.lostPublicIps;
  if (lost !== undefined && (!Array.isArray(lost) || lost.length > 8 || !lost.every(isLost))) return false;
  if (!idsFit(channels as Obj[], v.nextChannelId as number)) return false;
  return (v.state === 'tearingDown') === (v.teardown !== undefined);
}
