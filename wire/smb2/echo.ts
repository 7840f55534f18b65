import { ByteReader, ByteWriter } from '../cursor.js';
import { type Parsed, parse } from '../errors.js';
import {
  requestHeader,
  responseHeaderFor,
  SMB2_HEADER_LEN,
  Smb2Command,
  Smb2Flags,
  type Smb2Header,
  smb2HeaderPullFrom,
  smb2HeaderPush,
} from './header.js';

/**
 * SMB2 ECHO request (MS-SMB2 2.2.28) and response (2.2.29): StructureSize 4 and two reserved bytes.
 * A client's keep-alive; servers answer it without a session, which makes it the traffic the failover
 * harness keeps every channel busy with.
 */
export const ECHO_STRUCTURE_SIZE = 4;
const ECHO_LEN = SMB2_HEADER_LEN + 4;

export interface Echo {
  header: Smb2Header;
}

function echoPush(header: Smb2Header): Uint8Array {
  const w = new ByteWriter(ECHO_LEN);
  smb2HeaderPush({ ...header, command: Smb2Command.ECHO }, w);
  w.u16(SMB2_HEADER_LEN, ECHO_STRUCTURE_SIZE);
  return w.bytes;
}

export function echoRequestPush(messageId: bigint, extra: Partial<Smb2Header> = {}): Uint8Array {
  return echoPush(requestHeader(Smb2Command.ECHO, messageId, extra));
}

/** The answer to `request` (see responseHeaderFor). */
export function echoResponsePush(request: Smb2Header, status = 0): Uint8Array {
  return echoPush(responseHeaderFor(request, status));
}

function echoPullFrom(r: ByteReader, response: boolean): Echo {
  const header = smb2HeaderPullFrom(r, 0);
  if (header.command !== Smb2Command.ECHO)
    r.fail('BAD_COMMAND', `SMB2 command 0x${header.command.toString(16)} is not ECHO`, 12);
  if (((header.flags & Smb2Flags.SERVER_TO_REDIR) !== 0) !== response)
    r.fail('BAD_COMMAND', response ? 'not an ECHO response' : 'not an ECHO request', 16);
  // An error response (StructureSize 9) is a valid answer too: the caller reads header.status.
  if (header.status === 0) {
    r.need(SMB2_HEADER_LEN, 4, 'ECHO body');
    const size = r.u16(SMB2_HEADER_LEN, 'ECHO StructureSize');
    if (size !== ECHO_STRUCTURE_SIZE)
      r.fail('BAD_STRUCTURE_SIZE', `ECHO StructureSize is ${size}, expected 4`, SMB2_HEADER_LEN);
  }
  return { header };
}

export function echoRequestPull(message: Uint8Array, base = 0): Parsed<Echo> {
  return parse(() => echoPullFrom(new ByteReader(message, base), false));
}

export function echoResponsePull(message: Uint8Array, base = 0): Parsed<Echo> {
  return parse(() => echoPullFrom(new ByteReader(message, base), true));
}
