// Every SQL statement of the service, all with parameters. Callers wrap these in guarded()
// (database.ts) so that an unreachable database becomes a 503, not a 500.
import type pg from 'pg';

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
  /** Seconds until logins for `username` are checked again (0: now). Any name, user or not. */
  loginWait(username: string): Promise<number>;
  /**
   * Counts a failed login for `username` (a count older than an hour starts again); `waitFor`
   * turns the count into the seconds its logins must now wait (0: none). Those seconds.
   */
  loginFailed(username: string, waitFor: (failures: number) => number): Promise<number>;
  /** A login succeeded: the count is gone. */
  loginSucceeded(username: string): Promise<void>;
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
  // Failed logins per name, shared by every replica (login-throttle.ts). Names that are no
  // user's are counted too: the answers must not tell which names exist.
  `CREATE TABLE IF NOT EXISTS login_failures (
     username     VARCHAR(64) PRIMARY KEY,
     failures     INTEGER     NOT NULL,
     last_failure TIMESTAMPTZ NOT NULL,
     locked_until TIMESTAMPTZ
   )`,
];

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

    async loginWait(username) {
      const { rows } = await pool.query<{ wait: number | null }>(
        'SELECT EXTRACT(EPOCH FROM locked_until - now())::float8 AS wait FROM login_failures WHERE username = $1',
        [username],
      );
      return Math.max(0, Math.ceil(rows[0]?.wait ?? 0));
    },

    async loginFailed(username, waitFor) {
      const { rows } = await pool.query<{ failures: number }>(
        `INSERT INTO login_failures AS f (username, failures, last_failure) VALUES ($1, 1, now())
         ON CONFLICT (username) DO UPDATE SET
           failures = CASE WHEN f.last_failure < now() - interval '1 hour' THEN 1 ELSE f.failures + 1 END,
           last_failure = now()
         RETURNING failures`,
        [username],
      );
      const wait = waitFor(rows[0]!.failures);
      if (wait > 0)
        // GREATEST: replicas counting at once never shorten each other's wait.
        await pool.query(
          `UPDATE login_failures SET locked_until =
             GREATEST(locked_until, now() + make_interval(secs => $2)) WHERE username = $1`,
          [username, wait],
        );
      if (Date.now() - pruned > PRUNE_EVERY_MS) {
        pruned = Date.now();
        await pool.query(
          `DELETE FROM login_failures WHERE last_failure < now() - interval '1 day'`,
        );
      }
      return wait;
    },

    async loginSucceeded(username) {
      await pool.query('DELETE FROM login_failures WHERE username = $1', [username]);
    },
  };
}
