/**
 * Bytes of request bodies the collector holds at once: bodies being read (counted as each chunk is buffered, after
 * inflating), waiting for their turn, being decoded, and, until the answer, waiting for the store (by then the request
 * holds its encoded rows instead, about as large). Counting what is actually buffered, not what a request
 * declares, keeps a slow upload that announces a large Content-Length from reserving memory it never uses (and so
 * from starving ingest), while a thousand concurrent uploads cannot buffer more than the budget between them.
 */
export class BodyBudget {
  private heldBytes = 0;
  private peakBytes = 0;
  private refusals = 0;

  constructor(readonly maxBytes: number) {}

  /** Bytes held right now by every request. */
  get held(): number {
    return this.heldBytes;
  }

  /** Most bytes held at once since start. */
  get peak(): number {
    return this.peakBytes;
  }

  /** Chunks refused since start (each one a request answered 429 while its body was arriving). */
  get refused(): number {
    return this.refusals;
  }

  /** A share for one request; release it when its body is no longer needed (every path, also refusals). */
  share(): BodyShare {
    let mine = 0;
    let released = false;
    return {
      take: (bytes) => {
        if (released) return false;
        // A request alone is always let in: a budget below one body limit would otherwise refuse it forever.
        if (this.heldBytes - mine > 0 && this.heldBytes + bytes > this.maxBytes) {
          this.refusals++;
          return false;
        }
        mine += bytes;
        this.heldBytes += bytes;
        this.peakBytes = Math.max(this.peakBytes, this.heldBytes);
        return true;
      },
      release: () => {
        if (released) return;
        released = true;
        this.heldBytes -= mine;
        mine = 0;
      },
      get bytes() {
        return mine;
      },
    };
  }
}

/** The budget when none is configured: 64 MiB, and room for at least four bodies of the largest size. */
export function defaultBudgetBytes(bodyLimit: number): number {
  return Math.max(64 * 1024 * 1024, bodyLimit * 4);
}

/** One request's part of the budget. */
export interface BodyShare {
  /** Counts `bytes` more; false (nothing counted) when that would pass the budget while other requests hold some. */
  take(bytes: number): boolean;
  /** Gives back everything this request holds; later calls do nothing. */
  release(): void;
  readonly bytes: number;
}
