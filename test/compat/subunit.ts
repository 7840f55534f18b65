/**
 * smbtorture's `--format=subunit` output (subunit v1 text): `test: NAME`, then one outcome line
 * `success|failure|error|skip|xfail|uxsuccess: NAME`, optionally followed by ` [` … `]` details. Pure:
 * text in, outcomes out; lines that are not part of the protocol (smbtorture's own chatter) are ignored.
 */
export type Outcome = 'success' | 'failure' | 'error' | 'skip' | 'xfail' | 'uxsuccess';

export interface TestResult {
  name: string;
  outcome: Outcome;
  /** The first line of the details, if any (a reason for failures and skips). */
  reason: string;
}

export interface SubunitParse {
  results: TestResult[];
  /** Tests that started but never got an outcome (smbtorture died, or was killed by a timeout). */
  unfinished: string[];
}

const OUTCOME = /^(success|successful|failure|fail|error|skip|xfail|uxsuccess): (.+?)( \[( multipart)?)?$/;

export function parseSubunit(text: string): SubunitParse {
  const results: TestResult[] = [];
  const started = new Set<string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    const start = /^test: (.+)$/.exec(line);
    if (start) {
      started.add(start[1]!.trim());
      continue;
    }
    const m = OUTCOME.exec(line);
    if (!m) continue;
    const name = m[2]!.trim();
    let reason = '';
    if (m[3]) {
      // Details run until a line that is exactly "]".
      const details: string[] = [];
      for (i++; i < lines.length && lines[i]!.replace(/\r$/, '') !== ']'; i++) details.push(lines[i]!);
      reason = details.find((d) => d.trim() !== '')?.trim() ?? '';
    }
    started.delete(name);
    results.push({ name, outcome: normalise(m[1]!), reason });
  }
  return { results, unfinished: [...started] };
}

function normalise(word: string): Outcome {
  if (word === 'successful') return 'success';
  if (word === 'fail') return 'failure';
  return word as Outcome;
}

/** Whether an outcome counts as passing when two runs are compared. */
export function passed(outcome: Outcome | undefined): boolean {
  return outcome === 'success' || outcome === 'xfail';
}
