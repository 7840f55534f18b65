import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { prepareSmbdState } from '../../bench/smbd.js';
import { projectRoot } from '../helpers/reference.js';
import { pidAlive, waitFor } from './netns.js';

export { prepareSmbdState, smbdConf } from '../../bench/smbd.js';

const execFileAsync = promisify(execFile);

/**
 * A real smbd (Debian samba 4.17) with its own state directory, optionally inside a network namespace,
 * started in the foreground (-F) so it is stopped by pid. The user `root` gets `password` in tdbsam.
 */
export interface SmbdOptions {
  dir: string;
  ns?: string;
  /** Extra [global] lines, e.g. an `interfaces = …` line. */
  globals?: string[];
  /** Address to wait on for port 445 (inside the namespace). */
  listenAddress: string;
  password?: string;
  /** Extra share sections after [share], verbatim lines. */
  shares?: string[];
}

export class SmbdInstance {
  private constructor(
    readonly dir: string,
    readonly confPath: string,
    readonly password: string,
    private readonly child: ChildProcess,
    readonly ns: string | undefined,
  ) {}

  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(options: SmbdOptions): Promise<SmbdInstance> {
    const { dir } = options;
    const { confPath, password } = await prepareSmbdState(
      dir,
      options.globals ?? [],
      options.password,
      options.shares,
    );
    const log = openSync(join(dir, 'smbd.out'), 'a');
    const argv = ['smbd', '-F', '--no-process-group', '-s', confPath];
    const child = spawn(
      options.ns ? 'ip' : argv[0]!,
      options.ns ? ['netns', 'exec', options.ns, ...argv] : argv.slice(1),
      {
        stdio: ['ignore', log, log],
        detached: true,
      },
    );
    closeSync(log);
    const instance = new SmbdInstance(dir, confPath, password, child, options.ns);
    try {
      await waitFor(`smbd listening on ${options.listenAddress}:445`, 20_000, async () => {
        if (child.exitCode !== null) throw new Error(`smbd exited: ${instance.output().slice(-500)}`);
        const ss = options.ns ? ['ip', 'netns', 'exec', options.ns, 'ss', '-Hltn'] : ['ss', '-Hltn'];
        const { stdout } = await execFileAsync(ss[0]!, ss.slice(1));
        return stdout.includes(':445 ') ? true : undefined;
      });
    } catch (error) {
      await instance.stop();
      throw error;
    }
    return instance;
  }

  output(): string {
    const p = join(this.dir, 'smbd.out');
    return existsSync(p) ? readFileSync(p, 'utf8') : '';
  }

  /** Runs a program (smbtorture, smbclient) in smbd's namespace, with its config. */
  async run(argv: string[], timeoutMs = 120_000): Promise<{ stdout: string; stderr: string; code: number }> {
    const cmd = this.ns ? ['ip', 'netns', 'exec', this.ns, ...argv] : argv;
    try {
      const { stdout, stderr } = await execFileAsync(cmd[0]!, cmd.slice(1), {
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
        // smbtorture makes its smbtortureXXXXXX output directory in its cwd.
        cwd: tmpdir(),
      });
      return { stdout, stderr, code: 0 };
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; code?: number };
      return {
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? '',
        code: typeof e.code === 'number' ? e.code : 1,
      };
    }
  }

  async stop(): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined || this.child.exitCode !== null) return;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    await waitFor('smbd exit', 10_000, () => (pidAlive(pid) ? undefined : true), 50).catch(() => {
      if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    });
  }
}

/** The interface list smbtorture's `-d1` dump of FSCTL_QUERY_NETWORK_INTERFACE_INFO shows. */
export function parseSmbtortureInterfaces(
  text: string,
): { ifIndex: number; capability: number; linkSpeed: number; address: string }[] {
  const out: { ifIndex: number; capability: number; linkSpeed: number; address: string }[] = [];
  // Each entry's dump starts at a `… struct fsctl_net_iface_info` line (the first one and every `next:`).
  const blocks = text.split(/\n[^\n]*struct fsctl_net_iface_info[^\n]*/).slice(1);
  for (const block of blocks) {
    const ifIndex = /ifindex\s*:\s*0x[0-9a-f]+ \((\d+)\)/.exec(block)?.[1];
    const capability = /capability\s*:\s*0x[0-9a-f]+ \((\d+)\)/.exec(block)?.[1];
    const speed = /linkspeed\s*:\s*0x[0-9a-f]+ \((\d+)\)/.exec(block)?.[1];
    const address = /ipv4\s*:\s*(\S+)/.exec(block)?.[1] ?? /ipv6\s*:\s*(\S+)/.exec(block)?.[1];
    if (ifIndex && capability && speed && address)
      out.push({
        ifIndex: Number(ifIndex),
        capability: Number(capability),
        linkSpeed: Number(speed),
        address,
      });
  }
  return out;
}

/** smbclient's arguments to reach `//host/share` through a port as root, SMB 3.1.1 (add -c or --option). */
export function smbclientArgs(o: { host?: string; port: number; conf: string; password: string }): string[] {
  return [
    `//${o.host ?? '127.0.0.1'}/share`,
    '-p',
    String(o.port),
    '-s',
    o.conf,
    '-U',
    `root%${o.password}`,
    '-m',
    'SMB3_11',
  ];
}

/**
 * argv (after node) of `mcc interfaces --smb-conf --offline` against a node's ctdbd socket: the line
 * deploy/smb.conf.snippet tells operators to put in smb.conf (fixed addresses, no public IP).
 */
export function mccInterfacesLineArgv(ctdbSocket: string): string[] {
  return [
    join(projectRoot, 'dist/cli/mcc.js'),
    'interfaces',
    '--smb-conf',
    '--offline',
    '--ctdb-socket',
    ctdbSocket,
  ];
}
