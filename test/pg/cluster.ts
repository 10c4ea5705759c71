/**
 * A throwaway PostgreSQL cluster for the tests: started once per test run (scripts/pg-test-cluster.sh, in a
 * temp folder, on 127.0.0.1) unless CUSTODY_TEST_PG names a server already, and stopped when the run ends.
 *
 * Without PostgreSQL binaries the PostgreSQL tests fail under CI (CI=true) and are skipped elsewhere, with a
 * message saying why.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

const SCRIPT = fileURLToPath(new URL('../../scripts/pg-test-cluster.sh', import.meta.url));

interface Cluster {
  url: string;
  /** The cluster's folder when this process started it. */
  dir?: string;
}

let cluster: Cluster | undefined;
let unavailable: string | undefined;

/** The admin URL of the test cluster, starting it on first use; undefined (with the reason) when there is none. */
export function pgClusterURL(): { url?: string; reason?: string } {
  if (cluster) return { url: cluster.url };
  if (unavailable) return { reason: unavailable };
  const given = process.env.CUSTODY_TEST_PG;
  if (given) {
    cluster = { url: given };
    return { url: given };
  }
  const dir = mkdtempSync(join(tmpdir(), 'custody-pg-'));
  const r = spawnSync('bash', [SCRIPT, 'start'], { env: { ...process.env, CUSTODY_PG_DIR: dir }, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    unavailable =
      r.status === 3
        ? 'PostgreSQL binaries (initdb, pg_ctl) are not installed'
        : `the test cluster did not start: ${(r.stderr || r.error?.message || '').trim()}`;
    return { reason: unavailable };
  }
  cluster = { url: r.stdout.trim().split('\n').at(-1)!, dir };
  return { url: cluster.url };
}

/** Stops the cluster this process started (idempotent; a CUSTODY_TEST_PG server is left alone). */
export function stopPgCluster(): void {
  const c = cluster;
  if (!c?.dir) return;
  cluster = undefined;
  spawnSync('bash', [SCRIPT, 'stop'], { env: { ...process.env, CUSTODY_PG_DIR: c.dir }, timeout: 60_000 });
  rmSync(c.dir, { recursive: true, force: true });
}

/**
 * The cluster's admin URL for a suite: under CI a missing PostgreSQL fails the suite, elsewhere it skips it.
 * Call from a `before` hook with its `this`.
 */
export function requirePg(ctx: Mocha.Context): string {
  const { url, reason } = pgClusterURL();
  if (url) return url;
  if (process.env.CI && process.env.CI !== 'false') throw new Error(`PostgreSQL tests cannot run under CI: ${reason}`);
  console.warn(`    (skipping PostgreSQL tests: ${reason})`);
  ctx.skip();
}

/** A fresh, empty database on the cluster; returns its URL. */
export async function createTestDatabase(adminURL: string, prefix = 'custody_test'): Promise<string> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: adminURL });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const u = new URL(adminURL);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Root hook for `mocha --require test/pg/cluster.ts`: stops the cluster after the whole run. */
export const mochaHooks = { afterAll: stopPgCluster };

// Imported by test files, this registers at the root suite: the cluster stops once, after every test file.
if (typeof after === 'function') after(stopPgCluster);
process.on('exit', stopPgCluster);
