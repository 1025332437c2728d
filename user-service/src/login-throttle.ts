// A throttle per account on logins, shared by every replica (the counts are in PostgreSQL),
// whatever address the guesses come from: after LOGIN_FAILURES_ALLOWED failed logins, the
// account's logins are refused with 429 for LOGIN_WAIT_SECONDS, and each failure after that
// doubles the wait, up to LOGIN_WAIT_MAX_SECONDS. A success clears the count; a count an
// hour old starts again. A refused login costs no password hash, so guessing cannot keep the
// replicas' hashing slots full. Names that are no user's are counted the same way.
import { HttpError } from './errors.js';
import type { Repository } from './repository.js';

export interface LoginPolicy {
  loginFailuresAllowed: number;
  loginWaitSeconds: number;
  loginWaitMaxSeconds: number;
}

/** The wait, in seconds, after this many failures in a row. */
export function waitAfter(failures: number, policy: LoginPolicy): number {
  const over = failures - policy.loginFailuresAllowed;
  if (over < 0) return 0;
  return Math.min(policy.loginWaitMaxSeconds, policy.loginWaitSeconds * 2 ** Math.min(over, 30));
}

const refused = (wait: number) =>
  new HttpError(429, 'too many failed logins for this account; wait as long as Retry-After says', {
    'retry-after': String(wait),
  });

export function loginThrottle(repo: Repository, policy: LoginPolicy) {
  return {
    /** Throws the 429 while `username` must wait. */
    async check(username: string): Promise<void> {
      const wait = await repo.loginWait(username);
      if (wait > 0) throw refused(wait);
    },
    failed: (username: string) => repo.loginFailed(username, (n) => waitAfter(n, policy)),
    succeeded: (username: string) => repo.loginSucceeded(username),
  };
}
