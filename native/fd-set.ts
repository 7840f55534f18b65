import { addon, type RawFdWatcher } from './addon.js';
import { call } from './errors.js';

/** fds handled per readiness of the set, so a busy set cannot starve the event loop. */
const READY_BATCH = 256;

/**
 * Many fds waited on for readability through one epoll set (native/src/fdset.cc), whose own fd a single
 * FdWatcher polls: an fd costs an epoll_ctl to add and one to remove, instead of a libuv handle and a JS
 * watcher object of its own. `onReadable` is called once per ready fd per turn (level-triggered: an fd
 * with more to read comes again), and reads the fd itself. Used for the smbd pool's member carriers.
 */
export class FdSet {
  private readonly fd: number;
  private watcher: RawFdWatcher | undefined;

  constructor(onReadable: (fd: number) => void) {
    this.fd = call(() => addon.fdSetCreate());
    this.watcher = call(
      () =>
        new addon.FdWatcher(this.fd, (error) => {
          if (error || !this.watcher) return;
          const ready = call(() => addon.fdSetReady(this.fd, READY_BATCH));
          for (const fd of ready) onReadable(fd);
        }),
    );
    this.watcher.start(1);
  }

  add(fd: number): void {
    call(() => addon.fdSetAdd(this.fd, fd));
  }

  /** Out of the set, and closed (after close(), only closed). */
  closeFd(fd: number): void {
    if (this.watcher) call(() => addon.fdSetCloseFd(this.fd, fd));
    else call(() => addon.closeFd(fd));
  }

  /** Lets the process exit while the set is idle. */
  unref(): void {
    this.watcher?.unref();
  }

  /** Stops watching and closes the set (the fds in it stay open: their owner closes them). */
  close(): void {
    if (!this.watcher) return;
    this.watcher.close();
    this.watcher = undefined;
    call(() => addon.closeFd(this.fd));
  }
}
