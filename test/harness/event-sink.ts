import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';

/** An HTTP server on a unix socket that records what 09.mcc.script posts (stands in for mccd's API). */
export interface PostedEvent {
  event: string;
  args: string[];
  at: number;
}

export async function startEventSink(
  path: string,
): Promise<{ events: PostedEvent[]; close: () => Promise<void> }> {
  rmSync(path, { force: true });
  const events: PostedEvent[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/ctdb/event') {
        try {
          events.push({ ...(JSON.parse(body) as { event: string; args: string[] }), at: Date.now() });
        } catch {
          // recorded as nothing: the test will notice
        }
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { events, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
