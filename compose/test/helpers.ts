// What the end-to-end test files share: where the repository is, the addresses the host
// reaches the mesh on, and running make, shell commands and compose from the repository root.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);
export const root = new URL('../..', import.meta.url).pathname;
export const EDGE = 'http://127.0.0.1:8000';
export const ADMIN = 'http://127.0.0.1:8001';
export const PROJECT = 'usermesh';

const options = (timeoutMs: number) => ({ cwd: root, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });

export async function sh(command: string, timeoutMs = 600_000): Promise<string> {
  return (await exec('bash', ['-c', command], options(timeoutMs))).stdout;
}

/** `make <args>` from the repository root; its stdout. */
export async function make(...args: string[]): Promise<string> {
  return (await exec('make', ['--no-print-directory', ...args], options(20 * 60_000))).stdout;
}

export const compose = (args: string) => sh(`. scripts/lib.sh && compose ${args}`);
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
