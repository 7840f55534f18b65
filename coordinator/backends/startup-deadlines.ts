/**
 * Deadlines that all have the same length, kept with one timer for the oldest instead of one timer each
 * (the smbd pool orders a member for every connection it hands off, and each member must get ready in
 * time). Items that got ready or went are let go from the front as they are met: they become ready in
 * about the order they were added, so the queue stays about as long as the number still starting.
 */
export class StartupDeadlines<T> {
  private readonly queue: { item: T; at: number }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    /** Whether the item still has to get ready (false: ready, or gone). */
    private readonly pending: (item: T) => boolean,
    /** Items past their deadline and still pending, oldest first; called once per timer. */
    private readonly expired: (items: T[]) => void,
  ) {}

  add(item: T): void {
    this.queue.push({ item, at: Date.now() + this.ms });
    if (!this.timer) this.arm();
  }

  /** Lets go of the front items that are no longer pending. */
  prune(): void {
    const q = this.queue;
    while (q.length > 0 && !this.pending(q[0]!.item)) q.shift();
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }

  private arm(): void {
    const head = this.queue[0];
    if (!head) return;
    this.timer = setTimeout(() => this.fire(), Math.max(0, head.at - Date.now()));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    const now = Date.now();
    const late: T[] = [];
    while (this.queue.length > 0 && this.queue[0]!.at <= now) {
      const { item } = this.queue.shift()!;
      if (this.pending(item)) late.push(item);
    }
    this.prune();
    if (late.length > 0) this.expired(late);
    if (!this.timer) this.arm();
  }
}
