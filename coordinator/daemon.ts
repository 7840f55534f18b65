import { OperatorApi } from './api.js';
import { ConfigError, loadConfigFile, type MccConfig } from './config.js';
import { Coordinator } from './coordinator.js';
import { takeListenSockets } from './listen-fds.js';
import { createLogger } from './log.js';
import { packageVersion } from './version.js';

export interface DaemonOptions {
  configPath?: string | undefined;
}

/** Runs mccd until SIGTERM/SIGINT; SIGHUP reloads what can be reloaded from the config file. */
export async function runDaemon(config: MccConfig, options: DaemonOptions = {}): Promise<void> {
  const log = createLogger(config.log.level);
  // First, before anything is spawned: the activation variables must not reach smbd.
  const coordinator = new Coordinator(config, log, { activation: takeListenSockets() });
  const api = new OperatorApi(coordinator, config.api, log, packageVersion());
  const source = options.configPath ?? 'embedded default';
  try {
    await coordinator.start();
    await api.start();
  } catch (error) {
    log.fatal(
      { err: (error as Error).message, config: source },
      `mccd cannot start: ${(error as Error).message}`,
    );
    await coordinator
      .stop()
      .catch((e: Error) => log.warn({ err: e.message }, `stopping what had started failed: ${e.message}`));
    process.exitCode = 1;
    return;
  }
  const mode = coordinator.mode;
  const listen = coordinator.frontDoor
    .addresses()
    .map((a) => `${a.address}:${a.port}`)
    .join(', ');
  const fields = {
    mode: mode.kind,
    pnn: coordinator.cluster.pnn,
    listen,
    api: config.api.socket,
    backend: config.backend.kind,
    config: source,
  };
  if (mode.kind === 'single-node')
    log.warn(
      { ...fields, reason: mode.reason },
      `mccd running in single-node mode (${mode.reason}); SMB on ${listen}`,
    );
  else
    log.info(
      fields,
      `mccd running in ${mode.kind} mode as node ${coordinator.cluster.pnn}; SMB on ${listen}`,
    );

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'mccd stopping');
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      process.off('SIGHUP', reload);
      resolve();
    };
    const reload = () => {
      if (!options.configPath) {
        log.info('SIGHUP: running on the embedded default, nothing to reload');
        return;
      }
      try {
        const applied = coordinator.reload(loadConfigFile(options.configPath));
        log.info(
          { applied },
          `SIGHUP: reloaded ${applied.length ? applied.join(', ') : 'nothing that changed'} (listen, api, backend, cluster and state.file need a restart, which keeps every client)`,
        );
      } catch (error) {
        log.error(
          { err: (error as Error).message },
          error instanceof ConfigError ? `SIGHUP: config not reloaded: ${error.message}` : 'SIGHUP failed',
        );
      }
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', reload);
  });
  // Drain: stop accepting, stop the API, leave channels with their owners.
  await api.stop();
  await coordinator.stop();
  log.info('mccd stopped');
}
