// What meshctl check prints: one line per check, ✓ held, ‼ holds but worth knowing, ✗ failed
// with a hint that says what to do; or all of it as JSON. Pure: the tests render it.
export type Status = 'ok' | 'warn' | 'fail';

export interface Result {
  /** a short name, stable for scripts (--json): engine, compose, port-8000, secrets ... */
  id: string;
  status: Status;
  /** what was found, in a few words */
  detail: string;
  /** what to do about it (warn and fail only) */
  hint?: string;
}

const MARK: Record<Status, string> = { ok: '✓', warn: '‼', fail: '✗' };

export const passed = (results: Result[]) => results.every((r) => r.status !== 'fail');

/** Lines for a terminal or a log; colour only where `colour` (a TTY). */
export function renderResults(results: Result[], colour = false): string {
  const paint = (status: Status, text: string) =>
    !colour ? text : `\x1b[${status === 'ok' ? 32 : status === 'warn' ? 33 : 31}m${text}\x1b[0m`;
  const lines = results.map(
    (r) => `${paint(r.status, MARK[r.status])} ${r.detail}${r.hint ? `\n    ${r.hint}` : ''}`,
  );
  const failed = results.filter((r) => r.status === 'fail').length;
  lines.push(
    '',
    failed ? `${failed} of ${results.length} checks failed` : `all ${results.length} checks hold`,
  );
  return lines.join('\n');
}

export const renderJson = (results: Result[]) =>
  JSON.stringify({ ok: passed(results), checks: results }, null, 2);
