// Bounded password hashing: at most `concurrency` scrypt runs at once in this process and at
// most `queue` waiting for a turn. One scrypt at N = 2^17 holds 128 MiB and a core for a few
// hundred milliseconds, so a flood of logins must not turn into unbounded memory: past the
// queue, a request is told to come back (503 with Retry-After) before any work is done.
// How many may run at once by default is hash-sizing.ts's (config reads it, not this).
import { HttpError } from './errors.js';

export class BusyError extends HttpError {
  constructor() {
    // The request has done nothing yet: any replica may take it (see the edge's retry policy).
    super(503, 'too many password checks in progress; try again in a moment', {
      'retry-after': '1',
      'x-mesh-retry-safe': 'true',
    });
    this.name = 'BusyError';
  }
}

export class HashLimit {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly concurrency: number,
    readonly queue: number,
  ) {}

  /** Runs `work` when a slot is free; throws BusyError at once when the queue is full. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) {
      if (this.waiting.length >= this.queue) throw new BusyError();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await work();
    } finally {
      // Hand the slot straight to the next in line (active stays the same), or free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }

  get stats() {
    return { active: this.active, waiting: this.waiting.length };
  }
}
