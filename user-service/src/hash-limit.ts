// Bounded password hashing: at most `concurrency` scrypt runs at once in this process and at
// most `queue` waiting for a turn. One scrypt at N = 2^17 holds 128 MiB and a core for a few
// hundred milliseconds, so a flood of logins must not turn into unbounded memory: past the
// queue, a request is told to come back (503 with Retry-After) before any work is done.
import { availableParallelism, totalmem } from 'node:os';
import { HttpError } from './errors.js';

/** Memory one scrypt run holds: 128 · N · r bytes (r = 8 here). */
export function scryptBytes(logN: number, r = 8): number {
  return 128 * 2 ** logN * r;
}

/** Memory kept for the rest of the container: Node itself and the Envoy sidecar beside it. */
const RESERVED_BYTES = 192 * 2 ** 20;

/**
 * How many hashes fit: the container's memory limit (cgroup, or the machine's memory when
 * there is none) less what Node and the sidecar need, over one hash's memory; never more than
 * the cores, since each run keeps one busy, and never fewer than 1.
 */
export function defaultHashConcurrency(logN: number, memoryLimit = containerMemory(), cores = availableParallelism()): number {
  const fits = Math.floor((memoryLimit - RESERVED_BYTES) / scryptBytes(logN));
  return Math.max(1, Math.min(cores, fits));
}

function containerMemory(): number {
  const limit = process.constrainedMemory();
  // 0 (or a huge value, on some libuv versions) means "no limit".
  return limit > 0 && limit < totalmem() ? limit : totalmem();
}

export class BusyError extends HttpError {
  constructor() {
    // The request has done nothing yet: any replica may take it (see the edge's retry policy).
    super(503, 'too many password checks in progress; try again in a moment', { 'retry-after': '1', 'x-mesh-retry-safe': 'true' });
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
