import { randomUUID } from 'node:crypto';
import { unwrap } from '../../../wire/errors.js';
import { Dialect } from '../../../wire/smb2/dialects.js';
import { echoRequestPush } from '../../../wire/smb2/echo.js';
import { requestHeader, Smb2Command, type Smb2Header } from '../../../wire/smb2/header.js';
import { negotiateRequestPush } from '../../../wire/smb2/negotiate.js';
import { negotiateResponsePull } from '../../../wire/smb2/negotiate-response.js';
import { CLOSE_FLAG_POSTQUERY_ATTRIB, closeRequestPush, closeResponsePull } from './close.js';
import { Smb2Connection, type Smb2Reply, Smb2StatusError } from './connection.js';
import {
  CreateDisposition,
  createRequestPush,
  createResponsePull,
  FILE_ATTRIBUTE_NORMAL,
  FILE_NON_DIRECTORY_FILE,
  FileAccess,
  IMPERSONATION,
  OplockLevel,
  ShareAccess,
} from './create.js';
import {
  type CreateContext,
  CreateContextName,
  type DurableV2Response,
  dh2cPush,
  dh2qRequestPush,
  dh2qResponsePull,
  LeaseState,
  type LeaseV2,
  leaseV2Pull,
  leaseV2Push,
} from './create-contexts.js';
import { NtStatus } from './nt-status.js';
import { authenticateFor, CLIENT_NTLM_FLAGS, type Credentials } from './ntlm.js';
import { ntlmAuthenticatePush, ntlmChallengePull, ntlmNegotiatePush } from './ntlmssp.js';
import { sessionSetupRequestPush, sessionSetupResponsePull } from './session-setup.js';
import { treeConnectRequestPush, treeConnectResponsePull } from './tree-connect.js';

/**
 * A minimal SMB2/3 client for tests: negotiate, NTLMv2 session, one tree, CREATE with durable-v2
 * contexts, CLOSE, ECHO. It never signs: it offers signing but does not require it, and smbd 4.17
 * requires signed requests only when either side requires signing (source3/smbd/smb2_sesssetup.c,
 * `SMBXSRV_SIGNING_REQUIRED`), which its default `server signing = default` does not.
 * SMB 3.1.1 is not offered because that would need preauth integrity hashing for nothing here.
 */
export const PROBE_DIALECTS = [Dialect.SMB3_00, Dialect.SMB3_02];
const SIGNING_ENABLED = 0x1;

export interface OpenResult {
  fileId: Uint8Array;
  oplockLevel: number;
  createAction: number;
  durable: DurableV2Response | undefined;
  lease: LeaseV2 | undefined;
}

export class Smb2Client {
  dialect = 0;
  sessionId = 0n;
  treeId = 0;
  sessionFlags = 0;

  private constructor(readonly connection: Smb2Connection) {}

  static async connect(host: string, port: number, timeoutMs: number): Promise<Smb2Client> {
    return new Smb2Client(await Smb2Connection.open(host, port, timeoutMs));
  }

  private header(command: number, messageId: bigint, credits: number): Smb2Header {
    return requestHeader(command, messageId, {
      creditCharge: 1,
      credits,
      sessionId: this.sessionId,
      treeId: this.treeId,
    });
  }

  private static expect(reply: Smb2Reply, command: string, ...ok: number[]): void {
    const status = reply.header.status >>> 0;
    if (!(ok.length > 0 ? ok : [NtStatus.OK]).includes(status)) throw new Smb2StatusError(command, status);
  }

  async negotiate(dialects: number[] = PROBE_DIALECTS, clientGuid: string = randomUUID()): Promise<number> {
    // 3.1.1 needs a preauth-integrity context and hash chain, which this client does not keep.
    if (dialects.includes(Dialect.SMB3_11)) throw new RangeError('the probe client does not speak SMB 3.1.1');
    const reply = await this.connection.request((messageId, credits) =>
      negotiateRequestPush({
        header: this.header(Smb2Command.NEGOTIATE, messageId, credits),
        securityMode: SIGNING_ENABLED,
        capabilities: 0,
        clientGuid,
        dialects,
        clientStartTime: 0n,
      }),
    );
    Smb2Client.expect(reply, 'NEGOTIATE');
    this.dialect = unwrap(negotiateResponsePull(reply.bytes)).dialect;
    return this.dialect;
  }

  private async sessionSetupStep(token: Uint8Array): Promise<Smb2Reply> {
    return this.connection.request((messageId, credits) =>
      sessionSetupRequestPush({
        header: this.header(Smb2Command.SESSION_SETUP, messageId, credits),
        flags: 0,
        securityMode: SIGNING_ENABLED,
        capabilities: 0,
        previousSessionId: 0n,
        securityBuffer: token,
      }),
    );
  }

  /**
   * NTLMSSP without SPNEGO wrapping: smbd's SPNEGO layer falls back to the raw mechanism when the
   * first token is not SPNEGO (auth/gensec/spnego.c, gensec_spnego_server_try_fallback).
   */
  async sessionSetup(creds: Credentials): Promise<void> {
    const first = await this.sessionSetupStep(ntlmNegotiatePush({ flags: CLIENT_NTLM_FLAGS }));
    Smb2Client.expect(first, 'SESSION_SETUP (NTLMSSP NEGOTIATE)', NtStatus.MORE_PROCESSING_REQUIRED);
    this.sessionId = first.header.sessionId;
    const challenge = unwrap(ntlmChallengePull(unwrap(sessionSetupResponsePull(first.bytes)).securityBuffer));
    const { message } = authenticateFor(challenge, creds);
    const second = await this.sessionSetupStep(ntlmAuthenticatePush(message));
    Smb2Client.expect(second, 'SESSION_SETUP (NTLMSSP AUTHENTICATE)');
    this.sessionFlags = unwrap(sessionSetupResponsePull(second.bytes)).sessionFlags;
  }

  async treeConnect(server: string, share: string): Promise<void> {
    const reply = await this.connection.request((messageId, credits) =>
      treeConnectRequestPush({
        header: this.header(Smb2Command.TREE_CONNECT, messageId, credits),
        flags: 0,
        path: `\\\\${server}\\${share}`,
      }),
    );
    Smb2Client.expect(reply, 'TREE_CONNECT');
    unwrap(treeConnectResponsePull(reply.bytes));
    this.treeId = reply.header.treeId ?? 0;
  }

  /** CREATE for read/write, sharing everything, with the given oplock request and contexts. */
  private async create(
    command: string,
    name: string,
    disposition: number,
    contexts: CreateContext[],
    leaseKey: Uint8Array | undefined,
  ): Promise<OpenResult> {
    if (leaseKey)
      contexts.push({
        name: CreateContextName.LEASE,
        data: leaseV2Push({
          leaseKey,
          leaseState: LeaseState.READ | LeaseState.WRITE | LeaseState.HANDLE,
          flags: 0,
          parentLeaseKey: new Uint8Array(16),
          epoch: 0,
        }),
      });
    const reply = await this.connection.request((messageId, credits) =>
      createRequestPush({
        header: this.header(Smb2Command.CREATE, messageId, credits),
        oplockLevel: leaseKey ? OplockLevel.LEASE : OplockLevel.BATCH,
        impersonationLevel: IMPERSONATION,
        desiredAccess: FileAccess.GENERIC_READ | FileAccess.GENERIC_WRITE,
        fileAttributes: FILE_ATTRIBUTE_NORMAL,
        shareAccess: ShareAccess.READ | ShareAccess.WRITE | ShareAccess.DELETE,
        createDisposition: disposition,
        createOptions: FILE_NON_DIRECTORY_FILE,
        name,
        contexts,
      }),
    );
    Smb2Client.expect(reply, command);
    const res = unwrap(createResponsePull(reply.bytes));
    const dh2q = res.contexts.find((c) => c.name === CreateContextName.DH2Q);
    const lease = res.contexts.find((c) => c.name === CreateContextName.LEASE);
    return {
      fileId: res.fileId,
      oplockLevel: res.oplockLevel,
      createAction: res.createAction,
      durable: dh2q ? unwrap(dh2qResponsePull(dh2q.data)) : undefined,
      lease: lease ? unwrap(leaseV2Pull(lease.data)) : undefined,
    };
  }

  /**
   * Opens (or creates) `name` with a DH2Q context and a batch oplock, or an RWH lease when `leaseKey`
   * is given. smbd 4.17 grants durability only to an open holding handle caching (smb2_create.c:
   * `fsp_lease_type(...) & SMB2_LEASE_HANDLE`), so one of the two is not optional.
   */
  async openDurable(
    name: string,
    timeoutMs: number,
    createGuid: string,
    leaseKey?: Uint8Array,
  ): Promise<OpenResult> {
    const dh2q = dh2qRequestPush({ timeoutMs, flags: 0, createGuid });
    return this.create(
      'CREATE (DH2Q)',
      name,
      CreateDisposition.OPEN_IF,
      [{ name: CreateContextName.DH2Q, data: dh2q }],
      leaseKey,
    );
  }

  /**
   * Reclaims a durable handle (MS-SMB2 3.2.4.3.5 with DH2C): the same name, DH2C as the only context
   * besides the lease the open held (smbd answers OBJECT_NAME_NOT_FOUND to any other, or to a lease key
   * that differs). Resolves with the open, or rejects with Smb2StatusError carrying smbd's status.
   */
  async reconnectDurable(
    name: string,
    fileId: Uint8Array,
    createGuid: string,
    leaseKey?: Uint8Array,
  ): Promise<OpenResult> {
    const dh2c = dh2cPush({ fileId, createGuid, flags: 0 });
    return this.create(
      'CREATE (DH2C)',
      name,
      CreateDisposition.OPEN,
      [{ name: CreateContextName.DH2C, data: dh2c }],
      leaseKey,
    );
  }

  async close(fileId: Uint8Array): Promise<void> {
    const reply = await this.connection.request((messageId, credits) =>
      closeRequestPush({
        header: this.header(Smb2Command.CLOSE, messageId, credits),
        flags: CLOSE_FLAG_POSTQUERY_ATTRIB,
        fileId,
      }),
    );
    Smb2Client.expect(reply, 'CLOSE');
    unwrap(closeResponsePull(reply.bytes));
  }

  /** ECHO: keeps traffic on the connection so a path that died is noticed by the client too. */
  async echo(): Promise<void> {
    const reply = await this.connection.request((messageId, credits) =>
      echoRequestPush(messageId, { creditCharge: 1, credits }),
    );
    Smb2Client.expect(reply, 'ECHO');
  }

  /** Negotiate, authenticate and connect the share: the state every probe command starts from. */
  static async ready(o: {
    server: string;
    port: number;
    share: string;
    creds: Credentials;
    timeoutMs: number;
    clientGuid: string;
  }): Promise<Smb2Client> {
    const client = await Smb2Client.connect(o.server, o.port, o.timeoutMs);
    try {
      await client.negotiate(PROBE_DIALECTS, o.clientGuid);
      await client.sessionSetup(o.creds);
      await client.treeConnect(o.server, o.share);
      return client;
    } catch (error) {
      client.connection.destroy();
      throw error;
    }
  }
}
