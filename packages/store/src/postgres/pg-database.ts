/**
 * The PostgreSQL store's connections: the pool, the database created on first `init`, statements whose failures
 * become custody errors, and transactions run again after a deadlock or serialization failure.
 */
import pg from 'pg';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { CustodyError } from '@custody/core/errors';
import { isTransient, sqlState, storeError } from './pg-errors.js';

/** Attempts of a transaction (or an optimistic import) that keeps losing races. */
export const RETRIES = 5;

/** The URL without its password, for messages. */
export function redactURL(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}

/** A pool of at most `max` connections to `url`. */
export function openPool(url: string, max: number): Pool {
  const pool = new pg.Pool({ connectionString: url, max, idleTimeoutMillis: 10_000 });
  // An idle connection that dies is replaced on next use; without a listener the error would crash the process.
  pool.on('error', () => {});
  return pool;
}

/** Creates the database `url` names, through the server's `postgres` maintenance database. */
export async function createDatabase(url: string, location: string): Promise<void> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!name) throw new CustodyError('ERR_STORE_MISSING', `${location}: the URL names no database`);
  u.pathname = '/postgres';
  const client = new pg.Client({ connectionString: u.toString() });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } catch (e) {
    // 42P04: another init created it meanwhile.
    if (sqlState(e) !== '42P04') throw storeError(e, location, `create database ${name}`);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The rows of one statement on the pool.
 * @throws as `storeError` maps the failure, `what` naming the operation
 */
export async function queryRows<R extends QueryResultRow>(pool: Pool, location: string, sql: string, params: unknown[], what: string): Promise<R[]> {
  try {
    return (await pool.query<R>(sql, params)).rows;
  } catch (e) {
    throw storeError(e, location, what);
  }
}

/** Runs `fn` again on a deadlock or serialization failure, up to RETRIES times in all. */
async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isTransient(e) || attempt >= RETRIES) throw e;
      await new Promise((r) => setTimeout(r, 5 * attempt * Math.random()));
    }
  }
}

/**
 * Runs `fn` in one transaction on one connection of `pool` (retried on transient failures). A failure inside
 * `fn` is thrown as it is, for the caller to map.
 * @throws ERR_STORE_UNAVAILABLE, ERR_STORE_IO when no connection can be had
 */
export async function inTransaction<T>(pool: Pool, location: string, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  return retrying(async () => {
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (e) {
      throw storeError(e, location, 'connect');
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw e;
    } finally {
      client.release(broken);
    }
  });
}
