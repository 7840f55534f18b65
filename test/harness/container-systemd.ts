import { spawn } from 'node:child_process';
import { projectRoot } from '../helpers/reference.js';
import type { ExecResult } from './container-cluster.js';
import { nodeImage, podman, podmanEnv, TEST_LABEL } from './container-engine.js';
import { runTag, waitFor } from './netns.js';

/**
 * A node container booted with systemd as PID 1 (the node image carries Debian's systemd 252), so the
 * project's units run exactly as an operator installs them: the build is bind-mounted read-only at
 * /opt/mcc and the host's node binary at /usr/bin/node, the paths deploy/systemd/mccd.service names,
 * so the unit files are copied in unchanged. Privileged (systemd sets up each unit's namespaces, seccomp
 * filter and capability bounds itself), with no network but its own loopback: clients are processes
 * in the container outside the unit (`podman exec`), and nothing leaves it.
 */
export const MCC_DIR = '/opt/mcc';
export const MCC_CLI = `/usr/bin/node ${MCC_DIR}/dist/cli/mcc.js`;

export class SystemdBox {
  private stopped = false;

  private constructor(readonly name: string) {}

  static async boot(): Promise<SystemdBox> {
    const box = new SystemdBox(`mcc-${runTag()}-systemd`);
    podman(
      [
        'run',
        '--detach',
        '--name',
        box.name,
        '--hostname',
        'mcc-systemd',
        '--label',
        `${TEST_LABEL}=${box.name}`,
        '--systemd=always',
        '--privileged',
        '--network',
        'none',
        '--volume',
        `${process.execPath}:/usr/bin/node:ro`,
        '--volume',
        `${projectRoot}:${MCC_DIR}:ro`,
        nodeImage(),
        '/lib/systemd/systemd',
      ],
      60_000,
    );
    try {
      // "degraded" would name a failed unit of the image: the test wants a clean boot.
      await waitFor('systemd in the container to finish booting', 60_000, async () => {
        const r = await box.exec(['systemctl', 'is-system-running'], 10_000);
        const state = r.stdout.trim();
        if (state === 'degraded') {
          const failed = await box.exec(['systemctl', '--failed', '--no-legend']);
          throw new Error(`systemd booted degraded: ${failed.stdout.trim()}`);
        }
        return state === 'running' ? true : undefined;
      });
    } catch (error) {
      await box.stop();
      throw error;
    }
    return box;
  }

  /** A command in the container (outside every unit), bounded by `timeout` inside it and by the host. */
  exec(argv: string[], timeoutMs = 30_000, input?: string): Promise<ExecResult> {
    const seconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
    return new Promise((resolve, reject) => {
      const child = spawn(
        'podman',
        [
          'exec',
          ...(input === undefined ? [] : ['-i']),
          this.name,
          'timeout',
          '-s',
          'KILL',
          seconds,
          ...argv,
        ],
        { env: podmanEnv(), stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (d) => {
        stdout += d;
      });
      child.stderr?.on('data', (d) => {
        stderr += d;
      });
      // podman itself hung: the host's bound (10 s beyond the one inside).
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 10_000);
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr });
      });
      if (input !== undefined) child.stdin?.end(input);
    });
  }

  /** A shell script in the container; throws with its output when it exits non-zero. */
  async sh(script: string, timeoutMs = 30_000): Promise<string> {
    const r = await this.exec(['sh', '-c', script], timeoutMs);
    if (r.code !== 0)
      throw new Error(`\`${script}\` exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(-800)}`);
    return r.stdout;
  }

  async writeFile(path: string, content: string): Promise<void> {
    const r = await this.exec(
      ['sh', '-c', `mkdir -p "$(dirname "${path}")" && cat > "${path}"`],
      10_000,
      content,
    );
    if (r.code !== 0) throw new Error(`writing ${path} in ${this.name}: ${r.stderr.trim()}`);
  }

  /** One unit's properties as systemd holds them (`systemctl show -p ...`). */
  async show(unit: string, properties: string[]): Promise<Record<string, string>> {
    const out = await this.sh(`systemctl show ${unit} -p ${properties.join(',')}`);
    const props: Record<string, string> = {};
    for (const line of out.split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) props[line.slice(0, eq)] = line.slice(eq + 1);
    }
    return props;
  }

  async mainPid(unit: string): Promise<number> {
    const pid = Number((await this.sh(`systemctl show -p MainPID --value ${unit}`)).trim());
    if (!(pid > 0)) throw new Error(`${unit} has no main process`);
    return pid;
  }

  /** The kernel's own word on a process: the Cap*, NoNewPrivs and Seccomp lines of /proc/PID/status. */
  async procStatus(pid: number): Promise<Record<string, string>> {
    const out = await this.sh(`cat /proc/${pid}/status`);
    const status: Record<string, string> = {};
    for (const line of out.split('\n')) {
      const m = /^([A-Za-z_]+):\s*(.*)$/.exec(line);
      if (m) status[m[1]!] = m[2]!.trim();
    }
    return status;
  }

  /**
   * How many entries a unit's journal holds now: `journal(unit, mark)` then shows only later ones.
   * (Not a cursor: journalctl 252's --after-cursor with a -u match skips the first matching entry when
   * the cursor's own entry is another unit's.)
   */
  async journalMark(unit: string): Promise<number> {
    return (await this.journalLines(unit)).length;
  }

  /** A unit's journal, message text only (mccd's JSON lines as it wrote them), after `mark` if given. */
  async journal(unit: string, mark = 0): Promise<string> {
    return (await this.journalLines(unit)).slice(mark).join('\n');
  }

  private async journalLines(unit: string): Promise<string[]> {
    const out = await this.sh(`journalctl -u ${unit} -o cat --no-pager`);
    return out.split('\n').filter((l) => l !== '');
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      podman(['rm', '--force', '--time', '0', this.name], 60_000);
    } catch {
      // never started, or already removed
    }
  }
}
