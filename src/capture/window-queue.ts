/**
 * A bounded hand-over between a producer and a consumer that may fall behind: inside the ALSA source (arecord's stream
 * → windows) and between capture and inference in the daemon, so capturing window n+1 overlaps inference of window n.
 * Live sources must never wait for the consumer (the microphone does not pause): when the queue is full the oldest
 * item is dropped and counted, so memory stays bounded and what is kept stays recent. File sources read as fast as possible instead wait for room, so no window is lost.
 */
export type OverflowPolicy = 'drop-oldest' | 'wait';

export class WindowQueue<T> {
  private readonly items: T[] = [];
  private readonly takers: Array<(item: T | undefined) => void> = [];
  private readonly roomWaiters: Array<() => void> = [];
  private closed = false;
  dropped = 0;

  constructor(
    private readonly capacity: number,
    private readonly policy: OverflowPolicy,
    private readonly onDrop: (item: T, droppedSoFar: number) => void = () => {},
  ) {
    if (capacity < 1) throw new RangeError('queue capacity must be at least 1');
  }

  get length(): number {
    return this.items.length;
  }

  /** Adds an item; with the 'wait' policy resolves once there is room. After close() items are ignored. */
  async push(item: T): Promise<void> {
    if (this.closed) return;
    const taker = this.takers.shift();
    if (taker) {
      taker(item);
      return;
    }
    while (this.policy === 'wait' && this.items.length >= this.capacity && !this.closed) {
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
    // close() wakes the producers waiting for room: their items come after the end and are ignored like any other.
    if (this.closed) return;
    this.items.push(item);
    if (this.items.length > this.capacity) {
      const oldest = this.items.shift() as T;
      this.dropped++;
      this.onDrop(oldest, this.dropped);
    }
  }

  /** Next item, or undefined once the queue is closed and empty. */
  async take(): Promise<T | undefined> {
    const item = this.items.shift();
    if (item !== undefined) {
      this.roomWaiters.shift()?.();
      return item;
    }
    if (this.closed) return undefined;
    return new Promise<T | undefined>((resolve) => this.takers.push(resolve));
  }

  /** No more pushes; takers drain what is left, then get undefined. */
  close(): void {
    this.closed = true;
    for (const taker of this.takers.splice(0)) taker(undefined);
    for (const waiter of this.roomWaiters.splice(0)) waiter();
  }

  /** Empties the queue and returns how many items were discarded. */
  clear(): number {
    const n = this.items.length;
    this.items.length = 0;
    for (const waiter of this.roomWaiters.splice(0)) waiter();
    return n;
  }
}
