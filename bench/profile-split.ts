/**
 * Where a process's time went in a V8 CPU profile (`node --cpu-prof`), split by part of the per-connection
 * path and divided by the connections completed. Each sample goes to the first part its stack names,
 * walking from the running function towards the root, so time in a library (zod, xstate, pino) lands
 * on the part that called it. Only samples between the first and the last that ran a connection's code
 * count (start-up and shut-down are not connections' time).
 */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
}

type Frame = CpuProfile['nodes'][number]['callFrame'];

/** [part, test on a frame]; the first rule a frame matches names it. Order matters within one frame only. */
const RULES: [string, (f: Frame) => boolean][] = [
  ['garbage collection', (f) => f.functionName === '(garbage collector)'],
  ['idle', (f) => f.functionName === '(idle)'],
  [
    'logging',
    (f) => /\/(pino|pino-std-serializers|sonic-boom|thread-stream)\//.test(f.url) || /\/log\.js$/.test(f.url),
  ],
  ['metrics', (f) => f.url.includes('/prom-client/') || /coordinator\/metrics\.js$/.test(f.url)],
  [
    'worker messages (encode/decode, checks)',
    (f) =>
      /worker\/protocol\.js$|wire\/json\.js$|worker-session\.js$|worker-conduct\.js$/.test(f.url) ||
      (/worker-backend\.js$/.test(f.url) && f.functionName !== 'handOff') ||
      /backends\/factory\.js$/.test(f.url),
  ],
  [
    'worker messages (recvmsg)',
    (f) => /carrier\.js$/.test(f.url) && /drain|onReady|recv/.test(f.functionName),
  ],
  ['handoff (sendmsg + channel message)', (f) => /carrier\.js$/.test(f.url) || f.functionName === 'handOff'],
  ['registry / statecharts', (f) => f.url.includes('/xstate/') || f.url.includes('/statecharts/')],
  ['parse (NEGOTIATE, frames)', (f) => f.url.includes('/wire/')],
  ['admission (limits, owner, claim, liveness)', (f) => /coordinator\/admission\.js$/.test(f.url)],
  ['state file', (f) => /state-(writer|file)\.js$/.test(f.url)],
  [
    'accept and peek (native acceptor and its reports)',
    (f) => /front-door\.js$/.test(f.url) || /native\/acceptor\.js$/.test(f.url) || f.url === 'node:net',
  ],
  [
    'close (socket destroy)',
    (f) =>
      f.url === 'node:internal/streams/destroy' || /^(destroy|_destroy|close|onClose)$/.test(f.functionName),
  ],
  // The worker's own side of the path.
  ['worker: SMB2 answer', (f) => /reference-worker\.js$/.test(f.url)],
  ['worker: channel handling', (f) => /worker\/client\.js$/.test(f.url)],
];

export interface Split {
  /** Connections the split is divided by. */
  connections: number;
  /** Length of the window that ran connections, ms. */
  windowMs: number;
  /** µs per connection by part, largest first; 'other' is what no rule names (Node, libuv, kernel). */
  usPerConnection: Record<string, number>;
  /** The heaviest running functions (self time) in 'other', µs per connection, to refine the rules. */
  otherTop: Record<string, number>;
}

export function perConnection(
  profile: CpuProfile,
  connections: number,
  marker = /^(onConnection|onMessage)$/,
): Split {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const partOf = new Map<number, string>();
  const marked = new Map<number, boolean>();
  const classify = (id: number): string => {
    const known = partOf.get(id);
    if (known !== undefined) return known;
    const frame = byId.get(id)!.callFrame;
    let part = RULES.find(([, test]) => test(frame))?.[0];
    if (part === undefined) {
      const up = parent.get(id);
      part = up === undefined ? 'other' : classify(up);
    }
    partOf.set(id, part);
    return part;
  };
  const isMarked = (id: number): boolean => {
    const known = marked.get(id);
    if (known !== undefined) return known;
    const up = parent.get(id);
    const m = marker.test(byId.get(id)!.callFrame.functionName) || (up !== undefined && isMarked(up));
    marked.set(id, m);
    return m;
  };
  let first = -1;
  let last = -1;
  profile.samples.forEach((id, i) => {
    if (isMarked(id)) {
      if (first < 0) first = i;
      last = i;
    }
  });
  const us: Record<string, number> = {};
  const other: Record<string, number> = {};
  let windowUs = 0;
  for (let i = Math.max(first, 0); i <= last; i++) {
    // timeDeltas[i] is the time before sample i; the sample stands for the interval after it.
    const dt = profile.timeDeltas[i + 1] ?? 0;
    windowUs += dt;
    const id = profile.samples[i]!;
    const part = classify(id);
    us[part] = (us[part] ?? 0) + dt;
    if (part === 'other') {
      const f = byId.get(id)!.callFrame;
      const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(dist|node_modules)\//, '')}:${f.lineNumber}`;
      other[key] = (other[key] ?? 0) + dt;
    }
  }
  const per = (r: Record<string, number>, top: number) =>
    Object.fromEntries(
      Object.entries(r)
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([k, v]) => [k, Math.round((v / connections) * 10) / 10]),
    );
  return {
    connections,
    windowMs: Math.round(windowUs / 1000),
    usPerConnection: per(us, 100),
    otherTop: per(other, 25),
  };
}
