import { ByteReader, ByteWriter, checkUint } from '../cursor.js';
import { type Parsed, parse } from '../errors.js';
import {
  SMB2_HEADER_LEN,
  Smb2Command,
  Smb2Flags,
  type Smb2Header,
  smb2HeaderPullFrom,
  smb2HeaderPush,
} from './header.js';

/** SMB2 IOCTL request (MS-SMB2 2.2.31) and response (2.2.32) bodies. */
export const FSCTL_QUERY_NETWORK_INTERFACE_INFO = 0x001401fc;
export const SMB2_0_IOCTL_IS_FSCTL = 0x00000001;
export const IOCTL_REQUEST_STRUCTURE_SIZE = 57;
export const IOCTL_RESPONSE_STRUCTURE_SIZE = 49;
const REQUEST_FIXED = 56;
const RESPONSE_FIXED = 48;
/** The FileId every FSCTL that is not about a file carries: all ones. */
export const NO_FILE_ID = new Uint8Array(16).fill(0xff);

export interface IoctlRequest {
  header: Smb2Header;
  ctlCode: number;
  fileId: Uint8Array;
  input: Uint8Array;
  maxInputResponse: number;
  maxOutputResponse: number;
  flags: number;
  /** A request with empty input still carries one buffer byte (StructureSize 57 counts it). */
  output?: Uint8Array;
}

export interface IoctlResponse {
  header: Smb2Header;
  ctlCode: number;
  fileId: Uint8Array;
  input: Uint8Array;
  output: Uint8Array;
  flags: number;
  /** Set by the decoder: where `output` starts in the message (the encoder computes its own). */
  outputOffset?: number;
}

function bodyCheck(r: ByteReader, header: Smb2Header, response: boolean, structureSize: number): void {
  if (header.command !== Smb2Command.IOCTL)
    r.fail('BAD_COMMAND', `SMB2 command 0x${header.command.toString(16)} is not IOCTL`, 12);
  const isResponse = (header.flags & Smb2Flags.SERVER_TO_REDIR) !== 0;
  if (isResponse !== response)
    r.fail('BAD_COMMAND', response ? 'not an IOCTL response' : 'not an IOCTL request', 16);
  const size = r.u16(SMB2_HEADER_LEN, 'IOCTL StructureSize');
  if (size !== structureSize) {
    r.fail(
      'BAD_STRUCTURE_SIZE',
      `IOCTL StructureSize is ${size}, expected ${structureSize}`,
      SMB2_HEADER_LEN,
    );
  }
}

function blob(
  r: ByteReader,
  offset: number,
  count: number,
  minOffset: number,
  what: string,
  fieldAt: number,
): Uint8Array {
  if (count === 0) return new Uint8Array(0);
  if (offset < minOffset)
    r.fail('BAD_OFFSET', `${what} offset ${offset} points into the fixed part`, fieldAt);
  if (offset + count > r.length) {
    r.fail(
      'BAD_OFFSET',
      `${what} ${offset}+${count} runs past the end of the ${r.length}-byte message`,
      fieldAt,
    );
  }
  return r.slice(offset, count, what).slice();
}

export function ioctlRequestPush(req: IoctlRequest): Uint8Array {
  const bufferStart = SMB2_HEADER_LEN + REQUEST_FIXED;
  const bufferLen = Math.max(1, req.input.byteLength);
  const w = new ByteWriter(bufferStart + bufferLen);
  smb2HeaderPush({ ...req.header, command: Smb2Command.IOCTL }, w);
  const b = SMB2_HEADER_LEN;
  w.u16(b, IOCTL_REQUEST_STRUCTURE_SIZE);
  w.u32(b + 4, req.ctlCode);
  w.set(b + 8, req.fileId);
  w.u32(b + 24, req.input.byteLength > 0 ? bufferStart : 0);
  w.u32(b + 28, req.input.byteLength);
  w.u32(b + 32, checkUint(req.maxInputResponse, 32, 'maxInputResponse'));
  w.u32(b + 36, 0);
  w.u32(b + 40, 0);
  w.u32(b + 44, checkUint(req.maxOutputResponse, 32, 'maxOutputResponse'));
  w.u32(b + 48, req.flags);
  w.set(bufferStart, req.input);
  return w.bytes;
}

export function ioctlRequestPullFrom(r: ByteReader): IoctlRequest {
  const header = smb2HeaderPullFrom(r, 0);
  bodyCheck(r, header, false, IOCTL_REQUEST_STRUCTURE_SIZE);
  const b = SMB2_HEADER_LEN;
  r.need(b, REQUEST_FIXED, 'IOCTL request fixed part');
  const minOffset = b + REQUEST_FIXED;
  return {
    header,
    ctlCode: r.u32(b + 4),
    fileId: r.slice(b + 8, 16).slice(),
    input: blob(r, r.u32(b + 24), r.u32(b + 28), minOffset, 'InputOffset/InputCount', b + 24),
    maxInputResponse: r.u32(b + 32),
    output: blob(r, r.u32(b + 36), r.u32(b + 40), minOffset, 'OutputOffset/OutputCount', b + 36),
    maxOutputResponse: r.u32(b + 44),
    flags: r.u32(b + 48),
  };
}

export function ioctlRequestPull(message: Uint8Array, base = 0): Parsed<IoctlRequest> {
  return parse(() => ioctlRequestPullFrom(new ByteReader(message, base)));
}

export function ioctlResponsePush(res: IoctlResponse): Uint8Array {
  const inputOffset = SMB2_HEADER_LEN + RESPONSE_FIXED;
  // Samba reports InputOffset = OutputOffset = start of buffer even when InputCount is 0.
  const outputOffset = inputOffset + res.input.byteLength;
  const w = new ByteWriter(outputOffset + res.output.byteLength);
  smb2HeaderPush(
    { ...res.header, command: Smb2Command.IOCTL, flags: res.header.flags | Smb2Flags.SERVER_TO_REDIR },
    w,
  );
  const b = SMB2_HEADER_LEN;
  w.u16(b, IOCTL_RESPONSE_STRUCTURE_SIZE);
  w.u32(b + 4, res.ctlCode);
  w.set(b + 8, res.fileId);
  w.u32(b + 24, inputOffset);
  w.u32(b + 28, res.input.byteLength);
  w.u32(b + 32, outputOffset);
  w.u32(b + 36, res.output.byteLength);
  w.u32(b + 40, res.flags);
  w.set(inputOffset, res.input);
  w.set(outputOffset, res.output);
  return w.bytes;
}

export function ioctlResponsePullFrom(r: ByteReader): IoctlResponse {
  const header = smb2HeaderPullFrom(r, 0);
  bodyCheck(r, header, true, IOCTL_RESPONSE_STRUCTURE_SIZE);
  const b = SMB2_HEADER_LEN;
  r.need(b, RESPONSE_FIXED, 'IOCTL response fixed part');
  const minOffset = b + RESPONSE_FIXED;
  return {
    header,
    ctlCode: r.u32(b + 4),
    fileId: r.slice(b + 8, 16).slice(),
    input: blob(r, r.u32(b + 24), r.u32(b + 28), minOffset, 'InputOffset/InputCount', b + 24),
    output: blob(r, r.u32(b + 32), r.u32(b + 36), minOffset, 'OutputOffset/OutputCount', b + 32),
    flags: r.u32(b + 40),
    outputOffset: r.u32(b + 32),
  };
}

export function ioctlResponsePull(message: Uint8Array, base = 0): Parsed<IoctlResponse> {
  return parse(() => ioctlResponsePullFrom(new ByteReader(message, base)));
}
