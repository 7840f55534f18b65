import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pidAlive, waitFor } from './netns.js';

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
}

export function smbdConf(dir: string, globals: string[]): string {
  return [
    '[global]',
    '\tnetbios name = MCTEST',
    '\tworkgroup = WORKGROUP',
    '\tserver role = standalone server',
    '\tsmb ports = 445',
    '\tdisable netbios = yes',
    '\tserver multi channel support = yes',
    '\tserver min protocol = SMB2_02',
    '\tserver max protocol = SMB3_11',
    `\tpassdb backend = tdbsam:${dir}/state/private/passdb.tdb`,
    `\tprivate dir = ${dir}/state/private`,
    `\tlock directory = ${dir}/state/lock`,
    `\tstate directory = ${dir}/state/lock`,
    `\tcache directory = ${dir}/state/cache`,
    `\tpid directory = ${dir}/state/pid`,
    `\tncalrpc dir = ${dir}/state/ncalrpc`,
    `\tlog file = ${dir}/log/log.%m`,
    '\tlog level = 1',
    '\tmax log size = 0',
    '\tsmbd:FSCTL_SMBTORTURE = yes',
    '\tkernel oplocks = no',
    '\tkernel change notify = no',
    '\tkernel share modes = no',
    '\tposix locking = no',
    '\tload printers = no',
    '\tprinting = bsd',
    '\tprintcap name = /dev/null',
    '\tmap to guest = never',
    '\tusershare path =',
    ...globals.map((g) => `\t${g}`),
    '',
    '[share]',
    `\tpath = ${dir}/share`,
    '\tread only = no',
    '\tguest ok = no',
    '',
  ].join('\n');
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
    for (const d of [
      'state/private',
      'state/lock',
      'state/cache',
      'state/pid',
      'state/ncalrpc',
      'log',
      'share',
    ]) {
      mkdirSync(join(dir, d), { recursive: true });
    }
    const confPath = join(dir, 'smb.conf');
    writeFileSync(confPath, smbdConf(dir, options.globals ?? []));
    const password = options.password ?? 'mcc-test-pw';
    await new Promise<void>((resolve, reject) => {
      const p = execFile('smbpasswd', ['-c', confPath, '-a', '-s', 'root'], (error) =>
        error ? reject(error) : resolve(),
      );
      p.stdin?.end(`${password}\n${password}\n`);
    });
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

/** State directories, smb.conf and a tdbsam password for root: all an smbd (daemon or inetd) needs. */
export async function prepareSmbdState(
  dir: string,
  globals: string[],
  password = 'mcc-test-pw',
): Promise<{ confPath: string; password: string }> {
  for (const d of [
    'state/private',
    'state/lock',
    'state/cache',
    'state/pid',
    'state/ncalrpc',
    'log',
    'share',
  ]) {
    mkdirSync(join(dir, d), { recursive: true });
  }
  const confPath = join(dir, 'smb.conf');
  writeFileSync(confPath, smbdConf(dir, globals));
  await new Promise<void>((resolve, reject) => {
    const p = execFile('smbpasswd', ['-c', confPath, '-a', '-s', 'root'], (error) =>
      error ? reject(error) : resolve(),
    );
    p.stdin?.end(`${password}\n${password}\n`);
  });
  return { confPath, password };
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
