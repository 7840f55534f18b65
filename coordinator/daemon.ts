import { resolveClusterMode } from './cluster-mode.js';
import type { MccConfig } from './config.js';
import { createLogger } from './log.js';

export interface DaemonOptions {
  configPath?: string | undefined;
}

/**
 * Runs mccd until SIGTERM/SIGINT. The front door, routing, backends and operator API are assembled
 * here as they land (see the coordinator issue); today it resolves and reports its cluster mode.
 */
export async function runDaemon(config: MccConfig, options: DaemonOptions = {}): Promise<void> {
  const log = createLogger(config.log.level);
  const mode = await resolveClusterMode(config.cluster);
  const source = options.configPath ?? 'embedded default';
  if (mode.kind === 'single-node') {
    log.warn(
      { mode: mode.kind, reason: mode.reason, config: source },
      `mccd running in single-node mode: ${mode.reason}`,
    );
  } else {
    log.info({ mode: mode.kind, config: source }, `mccd running in ${mode.kind} mode`);
  }

  await new Promise<void>((resolve) => {
    // Holds the event loop open while idle; the front door will do this once it listens.
    const keepAlive = setInterval(() => {}, 1 << 30);
    const stop = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'mccd stopping');
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      clearInterval(keepAlive);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  log.info('mccd stopped');
}
