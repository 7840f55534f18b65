import { describe, expect, it } from 'vitest';
import {
  echoRequestPull,
  echoRequestPush,
  echoResponsePull,
  echoResponsePush,
  Smb2Command,
  unwrap,
} from '../../../wire/index.js';

describe('SMB2 ECHO', () => {
  it('a request is the 64-byte header and StructureSize 4; the response answers its MessageId', () => {
    const req = echoRequestPush(7n);
    expect(req.byteLength).toBe(68);
    expect(Buffer.from(req.subarray(64)).toString('hex')).toBe('04000000');
    const parsed = unwrap(echoRequestPull(req));
    expect(parsed.header.command).toBe(Smb2Command.ECHO);
    const res = unwrap(echoResponsePull(echoResponsePush(parsed.header)));
    expect(res.header.messageId).toBe(7n);
    expect(res.header.credits).toBeGreaterThanOrEqual(1);
  });

  it('a request is not a response, a wrong StructureSize is named', () => {
    const req = echoRequestPush(1n);
    expect(echoResponsePull(req)).toMatchObject({ ok: false, error: { code: 'BAD_COMMAND' } });
    const res = echoResponsePush(unwrap(echoRequestPull(req)).header);
    res[64] = 9;
    expect(echoResponsePull(res)).toMatchObject({ ok: false, error: { code: 'BAD_STRUCTURE_SIZE' } });
    expect(echoRequestPull(req.subarray(0, 66))).toMatchObject({ ok: false, error: { code: 'TRUNCATED' } });
  });
});
