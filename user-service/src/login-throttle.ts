// The login throttle, shared by every replica (the counts are in PostgreSQL). Each login is
// counted before its password is checked, per account and client network (client-network.ts)
// and per account alone, in one statement (repository.ts): so however many guesses arrive at
// once, on however many replicas, at most LOGIN_FAILURES_ALLOWED of them are checked from one
// network, and LOGIN_ACCOUNT_FAILURES_ALLOWED from all networks together, before the wait.
// The wait is LOGIN_WAIT_SECONDS, doubling with each attempt after it, up to
// LOGIN_WAIT_MAX_SECONDS. A success clears its network's count and does not count for the
// account; a count an hour old starts again. A refused login costs no password hash. A
// stranger's guesses make the account wait only for the stranger's network, until they reach
// the account's own bound (the backstop against guesses from many networks at once). Names
// that are no user's are counted the same way, so the answers do not tell which names exist.
import { HttpError } from './errors.js';
import type { LoginPolicy, Repository } from './repository.js';

export type { LoginPolicy };

const refused = (wait: number) =>
  new HttpError(429, 'too many login attempts for this account; wait as long as Retry-After says', {
    'retry-after': String(wait),
  });

/** One counted attempt: say how it ended. */
export interface LoginTicket {
  succeeded(): Promise<void>;
  /** Ended with no verdict (the hashing queue was full): the attempt is given back. */
  unchecked(): Promise<void>;
}

export function loginThrottle(repo: Repository, policy: LoginPolicy) {
  return {
    /** Counts an attempt for `username` from `network`; throws the 429 while either must wait. */
    async attempt(username: string, network: string): Promise<LoginTicket> {
      const wait = await repo.loginAttempt(username, network, policy);
      if (wait > 0) throw refused(wait);
      return {
        succeeded: () => repo.loginSettled(username, network, 'succeeded', policy),
        unchecked: () => repo.loginSettled(username, network, 'unchecked', policy),
      };
    },
  };
}
