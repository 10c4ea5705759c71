/**
 * The PostgreSQL figures (`pg.*`), measured the way figures.mjs measures the embedded store: the same
 * provisioning batch, the same handoff batch, and one device provisioned alone into a store of 1,000 and of
 * 100,000 devices.
 *
 * `url` names a server to use (each measurement gets a fresh database on it); without it, a throwaway cluster
 * is started with scripts/pg-test-cluster.sh in a temp folder and stopped afterwards.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { NodeCryptoProvider } from '@custody/core/node';
import { PgStore } from '@custody/store';
import { birthFor, factoryFor, handoffOn, makeCSRs, setupStore, writeMsOn } from './figures.mjs';
import { provisionInputs } from '@custody/app/provision';

const provider = new NodeCryptoProvider();
const SCRIPT = fileURLToPath(new URL('../scripts/pg-test-cluster.sh', import.meta.url));

async function freshDatabase(adminURL) {
  const name = `custody_bench_${randomBytes(5).toString('hex')}`;
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

/** A PostgreSQL store with a root, an issuing CA and a factory party (keys in `keyDir`). */
async function makeStore(adminURL, keyDir) {
  return setupStore(await PgStore.init(await freshDatabase(adminURL), new Date(), { keyDir }));
}

/** `provision.devicesPerSec` on PostgreSQL: n CSRs in one process, as figures.mjs provisionFigures. */
async function provisionPerSec(adminURL, n, tmp) {
  const store = await makeStore(adminURL, join(tmp, 'prov-keys'));
  try {
    const factory = await factoryFor(store);
    const inputs = await makeCSRs(n, 'P');
    const now = new Date();
    const opts = { factory, registry: store, provider, issuerName: 'issuing', now, model: 'B1', birth: await birthFor(store, now) };
    const t0 = process.hrtime.bigint();
    await provisionInputs(inputs, opts);
    return n / (Number(process.hrtime.bigint() - t0) / 1e9);
  } finally {
    await store.close();
  }
}

/** `handoff.perSec` on PostgreSQL: n handoffs signed and stored in one batch, as each of figures.mjs handoffFigures. */
async function handoffPerSec(adminURL, n, tmp) {
  const { run } = await handoffOn(await makeStore(adminURL, join(tmp, 'handoff-keys')), n);
  const t0 = process.hrtime.bigint();
  await run();
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/** One device provisioned alone into a PostgreSQL store already holding `size` devices: median ms of `reps`. */
async function storeWriteMs(adminURL, size, reps, tmp, name) {
  const store = await makeStore(adminURL, join(tmp, `${name}-keys`));
  try {
    return await writeMsOn(store, size, reps, name);
  } finally {
    await store.close();
  }
}

/**
 * The `pg.*` figures: `pg.provision.devicesPerSec`, `pg.handoff.perSec`, `pg.store.writeMsSmall`, `pg.store.writeMsLarge`.
 * @param {{ quick?: boolean, url?: string }} o
 */
export async function pgFigures({ quick = false, url } = {}) {
  const tmp = mkdtempSync(join(tmpdir(), 'custody-bench-pg-'));
  let admin = url ?? process.env.CUSTODY_BENCH_PG;
  let clusterDir;
  try {
    if (!admin) {
      // Its own folder under the temp root: the cluster runs as another user, who cannot enter `tmp` (0700).
      clusterDir = mkdtempSync(join(tmpdir(), 'custody-bench-pgc-'));
      const r = spawnSync('bash', [SCRIPT, 'start'], { env: { ...process.env, CUSTODY_PG_DIR: clusterDir }, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`bench: cannot start a PostgreSQL cluster: ${r.stderr.trim()}`);
      admin = r.stdout.trim().split('\n').at(-1);
    }
    const out = {};
    out['pg.provision.devicesPerSec'] = await provisionPerSec(admin, quick ? 1000 : 10000, tmp);
    out['pg.handoff.perSec'] = await handoffPerSec(admin, quick ? 1000 : 10000, tmp);
    out['pg.store.writeMsSmall'] = await storeWriteMs(admin, 1000, quick ? 15 : 31, tmp, 'small');
    out['pg.store.writeMsLarge'] = await storeWriteMs(admin, quick ? 10000 : 100000, quick ? 15 : 31, tmp, 'large');
    return out;
  } finally {
    if (clusterDir) {
      spawnSync('bash', [SCRIPT, 'stop'], { env: { ...process.env, CUSTODY_PG_DIR: clusterDir } });
      rmSync(clusterDir, { recursive: true, force: true });
    }
    rmSync(tmp, { recursive: true, force: true });
  }
}

// `node bench/pg.mjs [--quick]` prints the figures as JSON.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(JSON.stringify(await pgFigures({ quick: process.argv.includes('--quick') })) + '\n');
}
