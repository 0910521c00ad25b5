import { performance } from 'node:perf_hooks';

/**
 * Takes turns at CPU-heavy work on the event loop: one holder at a time. Holders follow each other directly for
 * up to `sliceMs`; then the next one is let in only from a setImmediate callback, after the loop has polled for
 * I/O. Work that would otherwise run back to back (every request whose body finished reading in the same poll
 * phase) is spread over loop iterations, so the I/O that arrives meanwhile (a health check, a gateway polling the
 * revocation list, the API) waits for about one slice, not for all of it. An idle holder is entered at once.
 */
export class Turns {
  private held = false;
  private sliceStart = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly sliceMs = 50) {}

  /** Resolves when it is the caller's turn; call `release()` once the synchronous work is done. */
  acquire(): Promise<void> {
    if (!this.held) {
      this.held = true;
      this.sliceStart = performance.now();
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    if (this.waiting.length > 0 && performance.now() - this.sliceStart < this.sliceMs) {
      this.waiting.shift()!();
      return;
    }
    // Held until the check phase: whoever arrives in this poll phase queues behind the I/O of the next one.
    setImmediate(() => {
      const next = this.waiting.shift();
      this.sliceStart = performance.now();
      if (next) next();
      else this.held = false;
    });
  }

  get queued(): number {
    return this.waiting.length;
  }
}
