import { request } from 'node:http';

/** A small client of mccd's operator API over its unix socket (or a loopback TCP port with a token). */
export interface ApiTarget {
  socketPath?: string;
  url?: string;
  token?: string;
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export function apiGet<T>(target: ApiTarget, path: string, timeoutMs = 5000): Promise<T> {
  return apiRequest<T>(target, 'GET', path, undefined, timeoutMs);
}

export function apiRequest<T>(
  target: ApiTarget,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (target.token) headers.authorization = `Bearer ${target.token}`;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload) headers['content-type'] = 'application/json';
    const base = target.url ? new URL(target.url) : undefined;
    const req = request(
      {
        method,
        path,
        headers,
        timeout: timeoutMs,
        // One connection per request, closed after it: Node 20's default agent would keep idle sockets
        // open in mccd for 5 s, which is noise in its fd count (the failover harness watches it).
        agent: false,
        ...(target.socketPath
          ? { socketPath: target.socketPath }
          : { host: base?.hostname, port: base?.port }),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => {
          if ((res.statusCode ?? 500) >= 400) {
            reject(new ApiError(`mccd answered ${res.statusCode}: ${text.slice(0, 300)}`, res.statusCode));
            return;
          }
          try {
            resolve((text ? JSON.parse(text) : undefined) as T);
          } catch {
            reject(new ApiError(`mccd sent something that is not JSON: ${text.slice(0, 100)}`));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new ApiError(`no answer from mccd within ${timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        e instanceof ApiError
          ? e
          : new ApiError(`cannot reach mccd at ${target.socketPath ?? target.url}: ${e.code ?? e.message}`),
      ),
    );
    if (payload) req.write(payload);
    req.end();
  });
}

/**
 * A data handler for mccd's `/v1/events` stream (server-sent events): calls `onEvent` with each event's
 * JSON `data`, whatever way the stream is cut into chunks.
 */
export function eventStreamParser(onEvent: (event: unknown) => void): (chunk: string) => void {
  let buffer = '';
  return (chunk) => {
    buffer += chunk;
    let i = buffer.indexOf('\n\n');
    while (i >= 0) {
      const block = buffer.slice(0, i);
      buffer = buffer.slice(i + 2);
      const data = block.split('\n').find((l) => l.startsWith('data: '));
      if (data) onEvent(JSON.parse(data.slice(6)));
      i = buffer.indexOf('\n\n');
    }
  };
}
