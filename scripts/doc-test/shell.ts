// Runs a README block's commands as a reader would, in one bash (so `TOKEN=$(...)` carries to
// the next command), and hands back each command's output, exit status and the HTTP status of
// every curl it made. The commands run as written: curl is wrapped only to also write the
// status to stderr (curl's own --write-out), and a `(Ctrl-C ends)` command gets SIGINT.
import { spawn } from 'node:child_process';
import type { Command } from './readme.js';

export interface Result {
  command: Command;
  stdout: string;
  stderr: string;
  exitCode: number;
  statuses: number[];
}

const MARK = '@@doc-test';

/** How long a `(Ctrl-C ends)` command runs before its Ctrl-C. */
export const INTERRUPT_AFTER_S = 12;

/** The script: each command between markers on stdout and stderr, its exit status after it. */
export function script(commands: Command[]): string {
  const lines = [
    `curl() { command curl --write-out '%{stderr}${MARK} status %{http_code}\\n' "$@"; }`,
  ];
  commands.forEach((c, i) => {
    const text = c.interrupt ? `timeout -s INT ${INTERRUPT_AFTER_S} ${c.text}` : c.text;
    lines.push(
      `echo '${MARK} begin ${i}'; echo '${MARK} begin ${i}' >&2`,
      text,
      `printf '\\n${MARK} end ${i} %d\\n' "$?"; echo '${MARK} end ${i}' >&2`,
    );
  });
  return `${lines.join('\n')}\n`;
}

/** Splits what the script printed into each command's part. */
export function split(commands: Command[], stdout: string, stderr: string): Result[] {
  const part = (text: string, i: number) => {
    const from = text.indexOf(`${MARK} begin ${i}\n`);
    const to = text.indexOf(`${MARK} end ${i}`, from);
    return from < 0 || to < 0 ? undefined : text.slice(from + `${MARK} begin ${i}\n`.length, to);
  };
  return commands.flatMap((command, i) => {
    const out = part(stdout, i);
    if (out === undefined) return []; // the shell died before this command
    const code = new RegExp(`${MARK} end ${i} (\\d+)`).exec(stdout)?.[1];
    const err = part(stderr, i) ?? '';
    const statuses = [...err.matchAll(new RegExp(`^${MARK} status (\\d+)$`, 'gm'))].map((m) =>
      Number(m[1]),
    );
    return [
      {
        command,
        stdout: out.replace(/\n$/, ''),
        stderr: err.replace(new RegExp(`^${MARK} status \\d+\\n?`, 'gm'), ''),
        exitCode: Number(code),
        statuses,
      },
    ];
  });
}

/** Runs the commands in one bash at `cwd`; gives up after `timeoutMs`. */
export function runCommands(
  commands: Command[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Result[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script(commands)], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15 * 60_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(split(commands, stdout, stderr));
    });
  });
}
