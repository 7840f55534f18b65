/**
 * Hand-written checks for the worker-protocol messages of every connection (`channel` one way; the
 * channel reports the other), which the profile showed spending most of their decode time in zod.
 * Each returns the message only when protocol.ts's schema certainly accepts it unchanged (same keys,
 * no others, same bounds), and undefined for anything else, which the schema then judges and words:
 * the refusals, their typed errors and their counts stay the schema's. A property test holds the two
 * to that (test/property/coordinator.property.test.ts).
 */
import type { ChannelReport, MccdToWorker, WorkerToMccd } from './protocol.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Exactly these own keys, no others (zod's .strict()). */
function hasKeys(o: Json, keys: readonly string[]): boolean {
  let n = 0;
  for (const k in o) {
    if (!Object.hasOwn(o, k)) return false;
    n++;
  }
  if (n !== keys.length) return false;
  for (const k of keys) if (!Object.hasOwn(o, k)) return false;
  return true;
}

function isInt(v: unknown, min: number, max: number): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

const isGuid = (v: unknown) => typeof v === 'string' && GUID.test(v);
const isChannelId = (v: unknown) => isInt(v, 1, 0xffffffff);

function isEndpoint(v: unknown): boolean {
  return (
    isObject(v) &&
    hasKeys(v, ['address', 'port']) &&
    typeof v.address === 'string' &&
    v.address.length >= 1 &&
    v.address.length <= 64 &&
    isInt(v.port, 0, 65535)
  );
}

function report(v: unknown): ChannelReport | undefined {
  if (!isObject(v) || !isGuid(v.clientGuid) || !isChannelId(v.channelId)) return undefined;
  if (v.t === 'negotiated')
    return hasKeys(v, ['t', 'clientGuid', 'channelId', 'dialect']) && isInt(v.dialect, 0, 0xffff)
      ? (v as ChannelReport)
      : undefined;
  if (v.t === 'bound' || v.t === 'channel-closed')
    return hasKeys(v, ['t', 'clientGuid', 'channelId']) ? (v as ChannelReport) : undefined;
  return undefined;
}

/** `reports`, `negotiated`, `bound`, `channel-closed` when certainly valid; undefined otherwise. */
export function fastWorkerToMccd(json: unknown, maxReports: number): WorkerToMccd | undefined {
  if (!isObject(json)) return undefined;
  if (json.t !== 'reports') return report(json);
  const list = json.reports;
  if (!hasKeys(json, ['t', 'reports']) || !Array.isArray(list)) return undefined;
  if (list.length < 1 || list.length > maxReports) return undefined;
  for (const r of list) if (report(r) === undefined) return undefined;
  return json as WorkerToMccd;
}

/** `channel` when certainly valid; undefined otherwise. */
export function fastMccdToWorker(json: unknown, maxString: number): MccdToWorker | undefined {
  if (!isObject(json) || json.t !== 'channel') return undefined;
  const ok =
    hasKeys(json, ['t', 'clientGuid', 'channelId', 'connectTime', 'local', 'remote', 'negotiate']) &&
    isGuid(json.clientGuid) &&
    isChannelId(json.channelId) &&
    typeof json.connectTime === 'number' &&
    Number.isFinite(json.connectTime) &&
    isEndpoint(json.local) &&
    isEndpoint(json.remote) &&
    typeof json.negotiate === 'string' &&
    json.negotiate.length <= maxString &&
    BASE64.test(json.negotiate);
  return ok ? (json as MccdToWorker) : undefined;
}
