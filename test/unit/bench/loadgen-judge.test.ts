import { describe, expect, it } from 'vitest';
import { judgeNegotiateFrame } from '../../../bench/loadgen.js';
import { buildNegotiateRequest, negotiateRequestPull } from '../../../wire/index.js';
import { smb2HeaderPull } from '../../../wire/smb2/header.js';
import { fileTime, negotiateResponsePush } from '../../../wire/smb2/negotiate-response.js';

// Only a NEGOTIATE response with STATUS_SUCCESS is a served connection; a fast failure is not throughput.
function response(status: number): Uint8Array {
  const request = negotiateRequestPull(
    buildNegotiateRequest({ clientGuid: '2acaa38d-f1d3-40c2-94e8-17bc98f2b571' }),
  );
  if (!request.ok) throw request.error;
  const header = request.value.header;
  return negotiateResponsePush({
    header: { ...header, flags: header.flags | 1, status },
    securityMode: 1,
    dialect: 0x0311,
    serverGuid: '00000000-0000-4000-8000-000000000001',
    capabilities: 0,
    maxTransactSize: 65536,
    maxReadSize: 65536,
    maxWriteSize: 65536,
    systemTime: fileTime(0),
    serverStartTime: fileTime(0),
    securityBuffer: new Uint8Array(0),
    negotiateContexts: [],
  });
}

describe('judgeNegotiateFrame', () => {
  it('accepts a NEGOTIATE response with STATUS_SUCCESS', () => {
    expect(judgeNegotiateFrame(response(0))).toEqual({ ok: true });
  });

  it('counts a response with an error status as an error named by its status', () => {
    expect(judgeNegotiateFrame(response(0xc0000022))).toEqual({ ok: false, error: 'status-0xc0000022' });
  });

  it('counts any other frame (the request echoed back, garbage) as a bad response', () => {
    const echoed = buildNegotiateRequest({ clientGuid: '2acaa38d-f1d3-40c2-94e8-17bc98f2b571' });
    expect(smb2HeaderPull(echoed).ok).toBe(true);
    expect(judgeNegotiateFrame(echoed)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^bad-response:/),
    });
    expect(judgeNegotiateFrame(Uint8Array.of(1, 2, 3))).toMatchObject({ ok: false });
  });
});
