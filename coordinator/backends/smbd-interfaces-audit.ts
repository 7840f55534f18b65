import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { auditSmbdInterfaces, type InterfacesProblem } from '../../ifdiscovery/smbconf-audit.js';

const TESTPARM_TIMEOUT_MS = 10_000;

/**
 * Keeps judging smbd's `interfaces =` line (read with testparm, so includes and defaults count as smbd
 * sees them) against the cluster's public IPs: at start and whenever the set of public IPs grows. Says
 * so only when the verdict changes, so a bad line costs one log line, not one per cluster event.
 */
export class InterfacesAudit extends EventEmitter<{ changed: [InterfacesProblem[]] }> {
  private last: { at: number; problems: InterfacesProblem[]; line: string } | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly onChanged = () => void this.run();

  constructor(
    private readonly configFile: string,
    private readonly publicIps: {
      addresses(): string[];
      on(event: 'changed', listener: () => void): unknown;
      off?(event: 'changed', listener: () => void): unknown;
    },
  ) {
    super();
  }

  async start(): Promise<void> {
    this.publicIps.on('changed', this.onChanged);
    await this.run();
  }

  stop(): void {
    this.stopped = true;
    this.publicIps.off?.('changed', this.onChanged);
  }

  describe(): Record<string, unknown> {
    if (!this.last) return { checked: false };
    return {
      checkedAt: new Date(this.last.at).toISOString(),
      line: this.last.line,
      problems: this.last.problems,
    };
  }

  /** One testparm at a time; a change meanwhile runs it once more afterwards. */
  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.check().finally(() => {
      this.running = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.run();
      }
    });
    return this.running;
  }

  private async check(): Promise<void> {
    const read = await readInterfacesLine(this.configFile);
    const problems =
      'error' in read
        ? [
            {
              entry: '',
              kind: 'unreadable' as const,
              detail: `testparm could not read ${this.configFile}: ${read.error}`,
            },
          ]
        : auditSmbdInterfaces(read.line, this.publicIps.addresses());
    const before = this.last;
    this.last = { at: Date.now(), problems, line: 'line' in read ? read.line : '' };
    if (this.stopped) return;
    if (!before || JSON.stringify(before.problems) !== JSON.stringify(problems))
      this.emit('changed', problems);
  }
}

function readInterfacesLine(configFile: string): Promise<{ line: string } | { error: string }> {
  return new Promise((resolve) => {
    execFile(
      'testparm',
      ['-s', '--parameter-name=interfaces', configFile],
      { timeout: TESTPARM_TIMEOUT_MS },
      (error, stdout, stderr) => {
        if (error) resolve({ error: (stderr.trim().split('\n').pop() ?? '') || error.message });
        else resolve({ line: stdout.trim() });
      },
    );
  });
}
