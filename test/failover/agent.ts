import { readFileSync } from 'node:fs';
import { type ProbeSpec, SmbdInterfaceProbe } from './server-interfaces.js';
import { type InterfaceSource, SimClient, type SimClientSpec, type SimClientTiming } from './sim-client.js';
import { SmbclientSession, type SmbclientSpec } from './smbclient-session.js';

/**
 * The client side of the failover harness, run inside a client namespace (`ip netns exec`): simulated
 * multi-channel clients and real smbclient sessions, reporting every event as one JSON line on stdout.
 * Started and stopped (SIGTERM) by the harness; its configuration is a JSON file named on the command line.
 */
export interface AgentConfig {
  port: number;
  clients: SimClientSpec[];
  smbclients: SmbclientSpec[];
  interfaceSource: InterfaceSource;
  timing: SimClientTiming;
  smbclientTickMs: number;
  /** smbd backend: ask smbd itself, in turn through each public IP, what it announces. */
  probe?: ProbeSpec;
}

export type AgentLine = { at: number; id: string } & (
  | ({ kind: 'client' } & import('./sim-client.js').SimClientEvent)
  | ({ kind: 'smbclient' } & import('./smbclient-session.js').SmbclientEvent)
  | ({ kind: 'probe' } & import('./server-interfaces.js').ProbeEvent)
);

function main(): void {
  const path = process.argv[2];
  if (!path) {
    process.stderr.write('usage: agent.js <config.json>\n');
    process.exit(2);
  }
  const config = JSON.parse(readFileSync(path, 'utf8')) as AgentConfig;
  const write = (line: AgentLine) => process.stdout.write(`${JSON.stringify(line)}\n`);
  const clients = config.clients.map(
    (spec) =>
      new SimClient(spec, config.port, config.interfaceSource, config.timing, (e) =>
        write({ at: Date.now(), id: spec.id, kind: 'client', ...e }),
      ),
  );
  const sessions = config.smbclients.map(
    (spec) =>
      new SmbclientSession(spec, config.port, config.smbclientTickMs, (e) =>
        write({ at: Date.now(), id: spec.id, kind: 'smbclient', ...e }),
      ),
  );
  const probe = config.probe
    ? new SmbdInterfaceProbe(config.probe, (e) =>
        write({ at: Date.now(), id: e.server, kind: 'probe', ...e }),
      )
    : undefined;
  const running = [...clients.map((c) => c.run()), ...(probe ? [probe.run()] : [])];
  for (const s of sessions) s.start();
  const stop = () => {
    probe?.stop();
    for (const c of clients) c.stop();
    for (const s of sessions) s.stop();
    void Promise.all(running).then(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main();
