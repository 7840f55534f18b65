import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A private smbd setup (state dirs, smb.conf, root's tdbsam password) for benchmarks and tests: one
 * place, so the daemon-mode and inetd-mode smbd the project drives are configured alike.
 */
export function smbdConf(dir: string, globals: string[], extraShares: string[] = []): string {
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
    // Further share sections, verbatim (a test that compares two shares' settings on one smbd).
    ...extraShares,
  ].join('\n');
}

/** State directories, smb.conf and a tdbsam password for root: all an smbd (daemon or inetd) needs. */
export async function prepareSmbdState(
  dir: string,
  globals: string[],
  password = 'mcc-test-pw',
  extraShares: string[] = [],
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
  writeFileSync(confPath, smbdConf(dir, globals, extraShares));
  await new Promise<void>((resolve, reject) => {
    const p = execFile('smbpasswd', ['-c', confPath, '-a', '-s', 'root'], (error) =>
      error ? reject(error) : resolve(),
    );
    p.stdin?.end(`${password}\n${password}\n`);
  });
  return { confPath, password };
}
