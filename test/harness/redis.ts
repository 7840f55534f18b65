import { type ChildProcess, spawn } from 'node:child_process';
import { freePort } from '../../bench/procs.js';
import { SimulatedCluster } from '../../ctdb/index.js';
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

/**
 * The Redis-simulated two-node cluster of the loopback cluster-rule tests: node 0 at 127.0.0.1 (fixed)
 * holding the public IP 127.0.0.2, node 1 at 127.0.0.3. A real redis-server of its own.
 */
export const LOOPBACK_CLUSTER = { fixed: '127.0.0.1', public: '127.0.0.2', other: '127.0.0.3' } as const;

export async function startLoopbackCluster(
  prefix: string,
): Promise<{ redis: TestRedis; sim: SimulatedCluster; name: string; stop(): Promise<void> }> {
  const redis = await TestRedis.start();
  const name = `${prefix}${process.pid}`;
  try {
    const sim = await SimulatedCluster.create(
      redis.url,
      name,
      [{ address: LOOPBACK_CLUSTER.fixed }, { address: LOOPBACK_CLUSTER.other }],
      [LOOPBACK_CLUSTER.public],
    );
    return {
      redis,
      sim,
      name,
      async stop() {
        await sim.close();
        await redis.stop();
      },
    };
  } catch (error) {
    await redis.stop();
    throw error;
  }
}
