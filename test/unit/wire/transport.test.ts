import { describe, expect, it } from 'vitest';
import { buildNegotiateRequest, FrameReader, frame } from '../../../wire/index.js';

const guid = '2acaa38d-f1d3-40c2-94e8-17bc98f2b571';

describe('FrameReader', () => {
  it('returns a NEGOTIATE delivered one byte at a time', () => {
    const bytes = frame(buildNegotiateRequest({ clientGuid: guid }));
    const reader = new FrameReader();
    const frames = [];
    for (const b of bytes) frames.push(...reader.push(Uint8Array.of(b)).frames);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.byteLength).toBe(bytes.byteLength - 4);
  });

  it('names an SMB1 negotiate as SMB1, at the protocol id', () => {
    const smb1 = Uint8Array.from([0, 0, 0, 0x2f, 0xff, 0x53, 0x4d, 0x42, 0x72]);
    const { error } = new FrameReader().push(smb1);
    expect(error?.code).toBe('SMB1');
    expect(error?.offset).toBe(4);
  });

  it('rejects a NetBIOS session request as not SMB2', () => {
    const { error } = new FrameReader().push(Uint8Array.of(0x81, 0, 0, 0x44));
    expect(error?.code).toBe('NOT_SMB2');
    expect(error?.offset).toBe(0);
  });

  it('rejects garbage after a valid length as not SMB2 before the whole frame arrives', () => {
    const { error } = new FrameReader().push(Uint8Array.of(0, 0, 0x10, 0, 0x47, 0x45, 0x54, 0x20));
    expect(error?.code).toBe('NOT_SMB2');
  });

  it('rejects an oversized length from the header alone', () => {
    const { error } = new FrameReader({ maxFrame: 1024 }).push(Uint8Array.of(0, 0x01, 0, 0));
    expect(error?.code).toBe('OVERSIZED');
    expect(error?.message).toContain('65536');
  });

  it('reports a truncated frame at end of stream and stays failed', () => {
    const reader = new FrameReader();
    reader.push(frame(buildNegotiateRequest({ clientGuid: guid })).subarray(0, 50));
    expect(reader.end()?.code).toBe('TRUNCATED');
    expect(reader.push(Uint8Array.of(0)).error?.code).toBe('TRUNCATED');
  });

  it('splits two frames that arrive in one chunk, and keeps the tail of a third', () => {
    const a = frame(buildNegotiateRequest({ clientGuid: guid, messageId: 1n }));
    const b = frame(buildNegotiateRequest({ clientGuid: guid, messageId: 2n }));
    const reader = new FrameReader();
    const { frames } = reader.push(Buffer.concat([a, b, a.subarray(0, 10)]));
    expect(frames).toHaveLength(2);
    expect(reader.pending).toBe(10);
  });
});
