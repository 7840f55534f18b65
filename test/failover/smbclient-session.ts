import { type ChildProcess, spawn } from 'node:child_process';
import { lineSplitter } from '../harness/netns.js';

/**
 * A real smbclient (Samba's own client, not ours) holding one interactive session against a public IP
 * and listing the share every tick. When a listing fails (the server tore the session down) the session
 * counts as lost and a fresh smbclient connects again; the first good listing after that restores it.
 */
export interface SmbclientSpec {
  id: string;
  publicIp: string;
  share: string;
  user: string;
  password: string;
}

export type SmbclientEvent =
  | { event: 'session-up'; attempt: number }
  | { event: 'session-lost'; detail: string }
  | { event: 'session-failed'; detail: string };

const LISTING_DONE = /blocks of size \d+\. \d+ blocks available/;
const FAILED = /NT_STATUS_[A-Z_]+/;

export class SmbclientSession {
  private child: ChildProcess | undefined;
  private stopped = false;
  private up = false;
  private attempts = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly spec: SmbclientSpec,
    private readonly port: number,
    private readonly tickMs: number,
    private readonly emit: (e: SmbclientEvent) => void,
  ) {}

  start(): void {
    this.connect();
    this.timer = setInterval(() => this.child?.stdin?.write('ls\n'), this.tickMs);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.child?.kill('SIGKILL');
  }

  private connect(): void {
    if (this.stopped) return;
    this.attempts++;
    // stdbuf: smbclient's stdout is a pipe here, and each listing must arrive when it is printed.
    const child = spawn(
      'stdbuf',
      [
        '-oL',
        'smbclient',
        `//${this.spec.publicIp}/${this.spec.share}`,
        '-p',
        String(this.port),
        '-U',
        `${this.spec.user}%${this.spec.password}`,
        '-m',
        'SMB3',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    this.child = child;
    const onOutput = lineSplitter((line) => this.onLine(child, line));
    child.stdout?.on('data', onOutput);
    child.stderr?.on('data', onOutput);
    child.stdin?.on('error', () => undefined);
    child.once('exit', () => {
      if (this.child !== child || this.stopped) return;
      this.fail(child, 'smbclient exited');
    });
    child.stdin?.write('ls\n');
  }

  private onLine(child: ChildProcess, line: string): void {
    if (this.child !== child) return;
    if (LISTING_DONE.test(line)) {
      if (!this.up) {
        this.up = true;
        this.emit({ event: 'session-up', attempt: this.attempts });
      }
      return;
    }
    const failure = FAILED.exec(line);
    if (failure) this.fail(child, line.trim());
  }

  private fail(child: ChildProcess, detail: string): void {
    this.child = undefined;
    child.kill('SIGKILL');
    this.emit(this.up ? { event: 'session-lost', detail } : { event: 'session-failed', detail });
    this.up = false;
    setTimeout(() => this.connect(), 200).unref();
  }
}
