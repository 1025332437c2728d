// How many scrypt runs fit in this container at once: its memory limit over one run's memory,
// capped by its cores. Config's default for SCRYPT_CONCURRENCY; apart from hash-limit.ts, so
// that config imports nothing that reaches back to it (errors -> database -> config).
import { availableParallelism, totalmem } from 'node:os';

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
export function defaultHashConcurrency(
  logN: number,
  memoryLimit = containerMemory(),
  cores = availableParallelism(),
): number {
  const fits = Math.floor((memoryLimit - RESERVED_BYTES) / scryptBytes(logN));
  return Math.max(1, Math.min(cores, fits));
}

function containerMemory(): number {
  const limit = process.constrainedMemory();
  // 0 (or a huge value, on some libuv versions) means "no limit".
  return limit > 0 && limit < totalmem() ? limit : totalmem();
}
