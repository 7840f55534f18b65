import { type ChildProcess, spawn } from 'node:child_process';
import type { ClientBox, ContainerCluster } from './container-cluster.js';
import { podmanEnv } from './container-engine.js';
import { SMB_PASSWORD } from './container-mccd.js';
import { waitFor } from './netns.js';

/** smbclient's smb.conf in a client container (the image carries none), where smbclient looks by default. */
export const CLIENT_SMB_CONF = '/etc/samba/smb.conf';

export async function prepareClient(cluster: ContainerCluster, client: ClientBox): Promise<void> {
  await cluster.sh(
    client,
    `mkdir -p /etc/samba && printf '[global]\\n\\tclient min protocol = SMB2_02\\n' > ${CLIENT_SMB_CONF}`,
  );
}

/** smbclient's arguments for //server/share as root over SMB 3.1.1 (add -c COMMANDS for a batch run). */
export function smbclientArgv(server: string): string[] {
  return [
    'smbclient',
    `//${server}/share`,
    '-s',
    CLIENT_SMB_CONF,
    '-U',
    `root%${SMB_PASSWORD}`,
    '-m',
    'SMB3_11',
  ];
}

/** One smbclient batch run (`-c`) from a client container; its output and exit code. */
export async function smbclientBatch(
  cluster: ContainerCluster,
  client: ClientBox,
  server: string,
  commands: string,
): Promise<{ code: number; output: string }> {
  const r = await cluster.exec(client, [...smbclientArgv(server), '-c', commands], 60_000);
  return { code: r.code, output: `${r.stdout}${r.stderr}` };
}

/**
 * A real smbclient session held open in a client container (`podman exec -i`: the Docker API's exec does
 * not stream), driven one command at a time: each command's output is what arrives until the pattern
 * that ends it.
 */
export class InteractiveSmbclient {
  private output = '';
  private constructor(private readonly child: ChildProcess) {}

  static async open(client: ClientBox, server: string): Promise<InteractiveSmbclient> {
    const child = spawn(
      'podman',
      ['exec', '-i', client.name, 'stdbuf', '-oL', '-eL', ...smbclientArgv(server)],
      { env: podmanEnv(), stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const s = new InteractiveSmbclient(child);
    child.stdout?.on('data', (d) => {
      s.output += d;
    });
    child.stderr?.on('data', (d) => {
      s.output += d;
    });
    child.stdin?.on('error', () => undefined);
    const first = await s.run('ls', /blocks of size \d+\. \d+ blocks available|NT_STATUS_[A-Z_]+/);
    if (/NT_STATUS_/.test(first)) {
      s.close();
      throw new Error(`smbclient to ${server} failed: ${first.trim()}`);
    }
    return s;
  }

  /** Sends one command and returns the output up to and including `until` (or the process's end). */
  async run(command: string, until: RegExp, timeoutMs = 20_000): Promise<string> {
    const start = this.output.length;
    this.child.stdin?.write(`${command}\n`);
    return waitFor(
      `smbclient output for \`${command}\``,
      timeoutMs,
      () => {
        const out = this.output.slice(start);
        if (until.test(out)) return out;
        if (this.child.exitCode !== null || this.child.signalCode !== null)
          return `${out}\n[smbclient exited]`;
        return undefined;
      },
      50,
    );
  }

  /** `ls`, answering whether the session still works (false: NT_STATUS_… or smbclient gone). */
  async ls(): Promise<{ ok: boolean; output: string }> {
    const out = await this.run('ls', /blocks of size \d+\. \d+ blocks available|NT_STATUS_[A-Z_]+|exited\]/);
    return { ok: /blocks available/.test(out), output: out };
  }

  /** smbclient's `open`: read/write access sharing read and write (not delete); returns the fnum. */
  async openFile(name: string): Promise<number> {
    const out = await this.run(`open ${name}`, /fnum \d+|NT_STATUS_[A-Z_]+/);
    const fnum = /fnum (\d+)/.exec(out)?.[1];
    if (fnum === undefined) throw new Error(`smbclient open ${name}: ${out.trim()}`);
    return Number(fnum);
  }

  async closeFile(fnum: number): Promise<void> {
    // `close` prints nothing on success. smbclient reading from a pipe handles one line per read: a second
    // command in the same read is left unread until more input comes, so give `close` a moment alone.
    this.child.stdin?.write(`close ${fnum}\n`);
    await new Promise((r) => setTimeout(r, 500));
    const { ok, output } = await this.ls();
    if (!ok) throw new Error(`smbclient close ${fnum}: ${output.trim()}`);
  }

  close(): void {
    // podman exec forwards no signal: smbclient inside ends on `quit`, the CLI after it.
    this.child.stdin?.end('quit\n');
    setTimeout(() => this.child.kill('SIGKILL'), 2000).unref();
  }
}

/**
 * smbclient's `notify DIR` held open in a client container: it prints one `ACTION NAME` line per change
 * smbd reports, until stopped.
 */
export class NotifyWatch {
  private output = '';
  private constructor(
    private readonly cluster: ContainerCluster,
    private readonly client: ClientBox,
    private readonly dir: string,
    private readonly child: ChildProcess,
  ) {}

  static start(cluster: ContainerCluster, client: ClientBox, server: string, dir: string): NotifyWatch {
    const child = spawn(
      'podman',
      ['exec', client.name, 'stdbuf', '-oL', '-eL', ...smbclientArgv(server), '-c', `notify ${dir}`],
      { env: podmanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const w = new NotifyWatch(cluster, client, dir, child);
    child.stdout?.on('data', (d) => {
      w.output += d;
    });
    child.stderr?.on('data', (d) => {
      w.output += d;
    });
    return w;
  }

  text(): string {
    return this.output;
  }

  exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  async stop(): Promise<void> {
    // podman exec forwards no signal: end the smbclient inside, and the exec ends with it.
    await this.cluster.exec(this.client, ['pkill', '-f', `notify ${this.dir}`]).catch(() => undefined);
    await waitFor('smbclient notify to exit', 5000, () => (this.exited() ? true : undefined), 50).catch(() =>
      this.child.kill('SIGKILL'),
    );
  }
}
