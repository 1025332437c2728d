// Every SQL statement of the service, all with parameters. Callers wrap these in guarded()
// (database.ts) so that an unreachable database becomes a 503, not a 500.
import type pg from 'pg';

/** The login throttle's numbers (config.ts; the policy: login-throttle.ts). */
export interface LoginPolicy {
  loginFailuresAllowed: number;
  loginAccountFailuresAllowed: number;
  loginWaitSeconds: number;
  loginWaitMaxSeconds: number;
}

export interface UserRow {
  uuid: string;
  username: string;
  fullname: string;
  /** The scrypt hash (passwords.ts); never leaves the service. */
  password: string;
}

export interface Repository {
  migrate(): Promise<void>;
  ping(): Promise<void>;
  /** The new row, or null when the username is taken. */
  insertUser(user: UserRow): Promise<UserRow | null>;
  findByUsername(username: string): Promise<UserRow | null>;
  findByUuid(uuid: string): Promise<UserRow | null>;
  /** True when a row with both this name and this uuid was deleted. */
  deleteUser(username: string, uuid: string): Promise<boolean>;
  /**
   * The user a token names, and whether the token was revoked: logged out (its jti), or
   * issued (`iat`) before its user logged out everywhere.
   */
  tokenOwner(
    uuid: string,
    jti: string,
    iat: number,
  ): Promise<{ user: UserRow; revoked: boolean } | null>;
  /** Ends one token: refused until it expires (`exp`), then forgotten. */
  revokeToken(jti: string, exp: number): Promise<void>;
  /** Ends every token of a user issued before the next second; returns that second. */
  revokeAllTokens(uuid: string): Promise<number>;
  /** The second a user's tokens must be issued at or after (0: any). */
  tokensNotBefore(uuid: string): Promise<number>;
  /**
   * Reserves one login attempt for `username` from `network`, counted before the password is
   * checked (login-throttle.ts): 0 if it may go ahead, else the seconds to wait.
   */
  loginAttempt(username: string, network: string, policy: LoginPolicy): Promise<number>;
  /**
   * The attempt reserved by loginAttempt is over: `succeeded` clears the network's count and
   * gives the account its attempt back; `unchecked` (no verdict: the hashing queue was full)
   * gives both their attempt back.
   */
  loginSettled(
    username: string,
    network: string,
    outcome: 'succeeded' | 'unchecked',
    policy: LoginPolicy,
  ): Promise<void>;
}

// Any constant works: every replica must use the same one.
const MIGRATION_LOCK = 0x75736572; // 'user'

// The tutorial's table, with the uniqueness it promised enforced by a constraint. The index
// statement also upgrades a table created by the tutorial without it.
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS users (
     uuid     VARCHAR(64)   PRIMARY KEY,
     username VARCHAR(64)   NOT NULL,
     fullname VARCHAR(2048) NOT NULL,
     password VARCHAR(256)  NOT NULL
   )`,
  'CREATE UNIQUE INDEX IF NOT EXISTS users_username_key ON users (username)',
  // Login attempts per name and client network, and per name alone (network '*'), shared by
  // every replica (login-throttle.ts). Names that are no user's are counted too: the answers
  // must not tell which names exist. It replaces login_failures (a count per name alone).
  'DROP TABLE IF EXISTS login_failures',
  `CREATE TABLE IF NOT EXISTS login_attempts (
     username     VARCHAR(64) NOT NULL,
     network      VARCHAR(64) NOT NULL,
     attempts     INTEGER     NOT NULL,
     last_attempt TIMESTAMPTZ NOT NULL,
     locked_until TIMESTAMPTZ NOT NULL,
     PRIMARY KEY (username, network)
   )`,
  // How long logins wait once this many attempts were made: none (NULL) below the allowed
  // count, then the first wait, doubling with each attempt up to the most (the one home of
  // that rule).
  // Revoked tokens (logout, app.ts), shared by every replica: one token by its jti until it
  // expires, and every token of a user issued before a second (log out everywhere). A restore
  // leaves them out (scripts/backup/archive.ts): tokens live minutes, not as long as backups.
  `CREATE TABLE IF NOT EXISTS revoked_tokens (
     jti        VARCHAR(64) PRIMARY KEY,
     expires_at TIMESTAMPTZ NOT NULL
   )`,
  `CREATE TABLE IF NOT EXISTS token_cutoffs (
     uuid       VARCHAR(64) PRIMARY KEY,
     not_before BIGINT      NOT NULL
   )`,
  `CREATE OR REPLACE FUNCTION login_wait(attempts integer, allowed integer, first float8, most float8)
     RETURNS interval LANGUAGE sql IMMUTABLE AS $$
       SELECT CASE WHEN attempts >= allowed
         THEN make_interval(secs => LEAST(most, first * power(2, LEAST(attempts - allowed, 30)))) END
     $$`,
];

const loginParams = (username: string, network: string, p: LoginPolicy) => [
  username,
  network,
  p.loginFailuresAllowed,
  p.loginAccountFailuresAllowed,
  p.loginWaitSeconds,
  p.loginWaitMaxSeconds,
];

/** A row's attempts with this one: a count an hour old starts again. */
const NEXT = `CASE WHEN a.last_attempt < now() - interval '1 hour' THEN 1 ELSE a.attempts + 1 END`;
/**
 * Until when a row waits after `attempts`, from `since`: no wait is -infinity, not now().
 * now() is when a transaction began, and a transaction that began a moment earlier but
 * counts later must not read another's now() as a wait still running.
 */
const until = (attempts: string, allowed: string, since: string) =>
  `COALESCE(${since} + login_wait(${attempts}, ${allowed}, $5, $6), '-infinity')`;
/**
 * One attempt counted, as one statement ($1 name, $2 network, $3 and $4 the attempts allowed
 * per network and per account, $5 and $6 the first and longest wait): the network's row first,
 * only while it does not wait; then the account's, only if the network's was counted. Each
 * upsert locks its row, so replicas counting at once are counted one after another, and the
 * attempt that reaches the allowed count sets the wait before anyone checks a password.
 */
const upsert = (network: string, allowed: string, from: string) => `
  INSERT INTO login_attempts AS a (username, network, attempts, last_attempt, locked_until)
  SELECT $1, ${network}, 1, now(), ${until('1', allowed, 'now()')} ${from}
  ON CONFLICT (username, network) DO UPDATE SET
    attempts = ${NEXT},
    last_attempt = now(),
    locked_until = ${until(NEXT, allowed, 'now()')}
  WHERE a.locked_until <= now()
  RETURNING attempts`;
const ATTEMPT = `
  WITH net AS (${upsert('$2', '$3::int', '')}),
       account AS (${upsert("'*'", '$4::int', 'FROM net')})
  SELECT EXISTS (SELECT 1 FROM net) AS counted, EXISTS (SELECT 1 FROM account) AS permitted,
         (SELECT max(EXTRACT(EPOCH FROM locked_until - now()))::float8 FROM login_attempts
           WHERE username = $1 AND network IN ($2, '*') AND locked_until > now()) AS wait`;
/** Gives a row its attempt back, its wait recomputed from the count left. */
const giveBack = (rows: string) => `
  UPDATE login_attempts SET
    attempts = GREATEST(attempts - 1, 0),
    locked_until = ${until('GREATEST(attempts - 1, 0)', "CASE WHEN network = '*' THEN $4::int ELSE $3::int END", 'last_attempt')}
  WHERE username = $1 AND ${rows}`;
/** A success: the network's count is gone, the account's attempt given back. */
const SUCCEEDED = `
  WITH gone AS (DELETE FROM login_attempts WHERE username = $1 AND network = $2)
  ${giveBack("network = '*'")}`;
/** No verdict: both given back. */
const UNCHECKED = giveBack("network IN ($2, '*')");

/** How often one replica clears counts no failure has touched for a day. */
const PRUNE_EVERY_MS = 60_000;

const UNIQUE_VIOLATION = '23505';

export function createRepository(pool: pg.Pool): Repository {
  let pruned = 0;
  const one = async (text: string, values: unknown[]): Promise<UserRow | null> =>
    (await pool.query<UserRow>(text, values)).rows[0] ?? null;

  return {
    async migrate() {
      // Replicas starting together against an empty database would race on CREATE TABLE
      // (it is not atomic with IF NOT EXISTS); the advisory lock lets one at a time in.
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
        for (const statement of SCHEMA) await client.query(statement);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },

    async ping() {
      await pool.query('SELECT 1');
    },

    async insertUser(user) {
      try {
        return await one(
          'INSERT INTO users (uuid, username, fullname, password) VALUES ($1, $2, $3, $4) RETURNING *',
          [user.uuid, user.username, user.fullname, user.password],
        );
      } catch (err) {
        if ((err as { code?: string }).code === UNIQUE_VIOLATION) return null;
        throw err;
      }
    },

    findByUsername: (username) => one('SELECT * FROM users WHERE username = $1', [username]),

    findByUuid: (uuid) => one('SELECT * FROM users WHERE uuid = $1', [uuid]),

    async deleteUser(username, uuid) {
      const result = await pool.query('DELETE FROM users WHERE username = $1 AND uuid = $2', [
        username,
        uuid,
      ]);
      return result.rowCount === 1;
    },

    async tokenOwner(uuid, jti, iat) {
      const { rows } = await pool.query<UserRow & { revoked: boolean }>(
        `SELECT u.*, EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $2)
                  OR EXISTS (SELECT 1 FROM token_cutoffs WHERE uuid = $1 AND not_before > $3) AS revoked
           FROM users u WHERE u.uuid = $1`,
        [uuid, jti, iat],
      );
      const row = rows[0];
      if (!row) return null;
      const { revoked, ...user } = row;
      return { user, revoked };
    },

    async revokeToken(jti, exp) {
      // Expired revocations go on the way: a token past its exp is refused anyway.
      await pool.query(
        `WITH gone AS (DELETE FROM revoked_tokens WHERE expires_at < now())
         INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, to_timestamp($2))
         ON CONFLICT (jti) DO NOTHING`,
        [jti, exp],
      );
    },

    async revokeAllTokens(uuid) {
      const { rows } = await pool.query<{ not_before: string }>(
        `INSERT INTO token_cutoffs (uuid, not_before)
         VALUES ($1, floor(EXTRACT(EPOCH FROM clock_timestamp())) + 1)
         ON CONFLICT (uuid) DO UPDATE SET not_before = EXCLUDED.not_before
         RETURNING not_before`,
        [uuid],
      );
      return Number(rows[0]!.not_before);
    },

    async tokensNotBefore(uuid) {
      const { rows } = await pool.query<{ not_before: string }>(
        'SELECT not_before FROM token_cutoffs WHERE uuid = $1',
        [uuid],
      );
      return Number(rows[0]?.not_before ?? 0);
    },

    async loginAttempt(username, network, policy) {
      const params = loginParams(username, network, policy);
      const { rows } = await pool.query<{
        counted: boolean;
        permitted: boolean;
        wait: number | null;
      }>(ATTEMPT, params);
      const { counted, permitted, wait } = rows[0]!;
      // The account waits, not the network: the network's count was not this attempt's to take.
      if (counted && !permitted) await pool.query(giveBack('network = $2'), params);
      if (Date.now() - pruned > PRUNE_EVERY_MS) {
        pruned = Date.now();
        await pool.query(
          `DELETE FROM login_attempts WHERE last_attempt < now() - interval '1 day' AND locked_until < now()`,
        );
      }
      // Refused while the statement's own snapshot still saw no wait (another replica's
      // attempt set it a moment before): a second.
      return permitted ? 0 : Math.max(1, Math.ceil(wait ?? 0));
    },

    async loginSettled(username, network, outcome, policy) {
      await pool.query(
        outcome === 'succeeded' ? SUCCEEDED : UNCHECKED,
        loginParams(username, network, policy),
      );
    },
  };
}
