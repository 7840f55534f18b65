import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { projectRoot } from '../helpers/reference.js';
import { waitFor } from './netns.js';

/**
 * The container engine under the test cluster: Debian's podman, its Docker-compatible API service started
 * by this process on a socket of its own (testcontainers talks to it through DOCKER_HOST), with the
 * project's containers.conf (ulimits these machines allow, runc). Images come from
 * test/containers/node-image.sh through `scripts/containers.sh provision`; nothing is ever pulled.
 */
export const containersConf = join(projectRoot, 'test/containers/containers.conf');
const recipe = join(projectRoot, 'test/containers/node-image.sh');
/** Every container and network the tests create carries this label, so `containers.sh clean` finds leftovers. */
export const TEST_LABEL = 'mcc.test';
const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';
/**
 * ip_forward as it was before the first test network, kept on disk too: when a run is killed before it
 * restores it, `scripts/containers.sh clean` does (same path there).
 */
const IP_FORWARD_SAVED = '/run/mcc-containers/ip_forward.before';

/** The node image's name: the same hash of its recipe that scripts/containers.sh tags it with. */
export function nodeImage(): string {
  const hash = createHash('sha256').update(readFileSync(recipe)).digest('hex').slice(0, 12);
  return `localhost/mcc-node:${hash}`;
}

export function podmanEnv(): NodeJS.ProcessEnv {
  return { ...process.env, CONTAINERS_CONF: containersConf };
}

/** podman's own CLI, for what the Docker API does not stream (interactive sessions). */
export function podman(args: string[], timeoutMs = 30_000): string {
  return execFileSync('podman', args, {
    encoding: 'utf8',
    env: podmanEnv(),
    timeout: timeoutMs,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Why no container cluster can start here, or undefined when it can. */
export function containerEngineReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (podman as root, privileged node containers)';
  try {
    execFileSync('sh', ['-c', 'command -v podman && command -v runc'], { stdio: 'ignore' });
  } catch {
    return 'podman or runc missing (run scripts/containers.sh provision)';
  }
  try {
    podman(['image', 'exists', nodeImage()]);
  } catch {
    return `image ${nodeImage()} missing (run scripts/containers.sh provision)`;
  }
  return undefined;
}

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/**
 * One API service per test process, shared by every cluster in it and stopped with the last one. Its
 * socket path stays the same for the process: testcontainers caches its client on the first use of
 * DOCKER_HOST, and a restarted service on the same path serves that cached client again.
 */
let service: ChildProcess | undefined;
let users = 0;
let ipForwardBefore: string | undefined;
let exitHookInstalled = false;
const serviceDir = join(tmpdir(), `mcc-podman-${process.pid}`);

export async function acquireEngine(): Promise<void> {
  users++;
  if (service && service.exitCode === null) return;
  mkdirSync(serviceDir, { recursive: true });
  const socketPath = join(serviceDir, 'podman.sock');
  rmSync(socketPath, { force: true });
  // netavark turns forwarding on with the first network; it goes back to what it was when the last
  // cluster of this process stops (the internal networks made here add no firewall rules to undo).
  if (ipForwardBefore === undefined && existsSync(IP_FORWARD)) {
    ipForwardBefore = existsSync(IP_FORWARD_SAVED)
      ? readFileSync(IP_FORWARD_SAVED, 'utf8').trim()
      : readFileSync(IP_FORWARD, 'utf8').trim();
    mkdirSync(dirname(IP_FORWARD_SAVED), { recursive: true });
    writeFileSync(IP_FORWARD_SAVED, `${ipForwardBefore}\n`);
  }
  service = spawn('podman', ['system', 'service', '--time=0', `unix://${socketPath}`], {
    env: podmanEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  // A test process that dies without stopping its clusters must not leave the service behind.
  if (users === 1 && !exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => service?.kill('SIGTERM'));
  }
  let stderr = '';
  service.stderr?.on('data', (d) => {
    stderr += d;
  });
  const started = service;
  await waitFor('the podman API service to answer', 15_000, async () => {
    if (started.exitCode !== null) throw new Error(`podman system service exited: ${stderr.slice(-500)}`);
    return (await ping(socketPath)) ? true : undefined;
  });
  process.env.DOCKER_HOST = `unix://${socketPath}`;
  // Ryuk (the reaper) is an image from a registry, and no registry is reachable: the clusters clean up.
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
}

export async function releaseEngine(): Promise<void> {
  users = Math.max(0, users - 1);
  if (users > 0 || !service) return;
  const s = service;
  service = undefined;
  if (s.exitCode === null) {
    s.kill('SIGTERM');
    await waitFor(
      'podman system service to exit',
      10_000,
      () => (s.exitCode !== null ? true : undefined),
      50,
    ).catch(() => s.kill('SIGKILL'));
  }
  rmSync(serviceDir, { recursive: true, force: true });
  restoreIpForward();
}

function restoreIpForward(): void {
  let others = '';
  try {
    others = podman(['network', 'ls', '-q', '--filter', `label=${TEST_LABEL}`]).trim();
  } catch {
    // podman gone: nothing of ours is left to need forwarding
  }
  if (others !== '' || ipForwardBefore === undefined) return;
  writeFileSync(IP_FORWARD, `${ipForwardBefore}\n`);
  rmSync(IP_FORWARD_SAVED, { force: true });
  ipForwardBefore = undefined;
}

/**
 * The host's pid of a process a container knows as `nsPid`: the process whose innermost NSpid is `nsPid`
 * and whose pid namespace is the container init's. The failover observer reads /proc/<pid>/fd with it.
 */
export function hostPidOf(initHostPid: number, nsPid: number): number | undefined {
  let ns: string;
  try {
    ns = readlinkSync(`/proc/${initHostPid}/ns/pid`);
  } catch {
    return undefined;
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const nspid = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/);
      if (nspid?.at(-1) !== String(nsPid) || nspid.length < 2) continue;
      if (readlinkSync(`/proc/${entry}/ns/pid`) === ns) return Number(entry);
    } catch {
      // exited while we looked
    }
  }
  return undefined;
}
