import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closeFd, connectCarrier, dupFd, fdOf, peerCred } from '../../../native/index.js';
import { projectRoot } from '../../helpers/reference.js';

const children: ChildProcess[] = [];
const O_CLOEXEC = 0o2000000;

function fdFlags(fd: number): number {
  const line = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  if (!line) throw new Error(`no flags line in /proc/self/fdinfo/${fd}`);
  return Number.parseInt(line[1]!, 8);
}
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

async function startReceiver(path: string): Promise<ChildProcess> {
  // detached: its own session; stdio pipes only. It shares no descriptor with this process.
  const child = spawn(process.execPath, [join(projectRoot, 'test/fixtures/fd-receiver.mjs'), path], {
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  expect(line.toString()).toContain('ready');
  return child;
}

describe('fd handoff between unrelated processes', () => {
  it('a TCP connection accepted here is answered by another process over the passed fd', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcc-handoff-'));
    const path = join(dir, 'carrier.sock');
    try {
      const receiver = await startReceiver(path);
      const server = net.createServer({ pauseOnConnect: true });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const { port } = server.address() as net.AddressInfo;

      const accepted = once(server, 'connection') as Promise<[net.Socket]>;
      const client = net.connect(port, '127.0.0.1');
      await once(client, 'connect');
      const [socket] = await accepted;

      const carrier = connectCarrier(path);
      await carrier.send(Buffer.from('channel 1'), [fdOf(socket)]);
      // Our copy is closed once sent; the receiver's copy keeps the connection alive.
      socket.destroy();

      client.write('NEGOTIATE please');
      const reply = await new Promise<string>((resolve) => {
        let text = '';
        client.on('data', (d) => {
          text += d;
        });
        client.on('end', () => resolve(text));
      });
      const answer = JSON.parse(reply);
      expect(answer.pid).toBe(receiver.pid);
      expect(answer.senderPid).toBe(process.pid);
      expect(answer.senderUid).toBe(process.getuid!());
      expect(answer.note).toBe('channel 1');
      expect(answer.request).toBe('NEGOTIATE please');
      carrier.close();
      server.close();
      await once(receiver, 'exit');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('SO_PEERCRED names the connecting process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcc-cred-'));
    try {
      const server = net.createServer();
      server.listen(join(dir, 's'));
      await once(server, 'listening');
      const accepted = once(server, 'connection') as Promise<[net.Socket]>;
      const client = net.connect(join(dir, 's'));
      const [socket] = await accepted;
      expect(peerCred(fdOf(socket))).toEqual({
        pid: process.pid,
        uid: process.getuid!(),
        gid: process.getgid!(),
      });
      client.destroy();
      socket.destroy();
      server.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('dupFd returns a close-on-exec copy', async () => {
    const copy = dupFd(0);
    try {
      expect(copy).toBeGreaterThan(2);
      // The kernel's own record of the descriptor, not the addon's: flags are octal, O_CLOEXEC is 02000000.
      expect(fdFlags(copy) & O_CLOEXEC).toBe(O_CLOEXEC);
      // And the effect itself: a child started by exec does not have it.
      const child = spawn('sh', ['-c', `test -e /proc/self/fd/${copy} && echo open || echo gone`], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
      });
      await once(child, 'exit');
      expect(out.trim()).toBe('gone');
    } finally {
      closeFd(copy);
    }
  });
});
