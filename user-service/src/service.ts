// Assembles the service from its configuration: the database pool, the repository, the app.
// server.ts serves what this builds; the tests build theirs the same way, on their own database.
import type Koa from 'koa';
import type pg from 'pg';
import type { Logger } from 'pino';
import { createApp } from './app.js';
import type { Config } from './config.js';
import { createPool, prepareDatabase, type DatabaseState } from './database.js';
import { resolveIdentity, type Identity } from './identity.js';
import { createRepository, type Repository } from './repository.js';

export interface Service {
  app: Koa;
  pool: pg.Pool;
  db: DatabaseState;
  identity: Identity;
  /** Waits for PostgreSQL and applies the schema (retrying until `signal` aborts); see database.ts. */
  prepare: (signal: AbortSignal) => Promise<void>;
}

/** `wrapRepo` wraps the PostgreSQL repository (tests use it to inject failures). */
export async function buildService(
  config: Config,
  log: Logger,
  wrapRepo = (repo: Repository) => repo,
): Promise<Service> {
  const pool = createPool(config, log);
  const repo = wrapRepo(createRepository(pool));
  const db: DatabaseState = { ready: false };
  const identity = await resolveIdentity(config.version);
  const app = createApp({ ...config, repo, db, identity, log });
  return { app, pool, db, identity, prepare: (signal) => prepareDatabase(repo, db, log, signal) };
}
