import { type ChildProcess, spawn } from 'node:child_process';
import { freePort } from '../../bench/procs.js';
import { waitFor } from './netns.js';

/** A private redis-server on a free loopback port, no persistence; stop() kills it by pid. */
export class TestRedis {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(port?: number): Promise<TestRedis> {
    port ??= await freePort();
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout?.on('data', (d) => {
      output += d;
    });
    const redis = new TestRedis(port, child);
    await waitFor(
      'redis-server to accept connections',
      10_000,
      () => (output.includes('Ready to accept connections') ? true : undefined),
      50,
    );
    return redis;
  }

  /** Kills the server (every client connection drops) and starts a fresh one on the same port. */
  async restart(): Promise<TestRedis> {
    await this.stop();
    return TestRedis.start(this.port);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill('SIGKILL');
    await new Promise((r) => this.child.once('exit', r));
  }
}

export { freePort };
