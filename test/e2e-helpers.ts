/** Shared helpers of the end-to-end tests: the built CLI, openssl, and fingerprints of a store folder. */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI; CUSTODY_E2E_BIN may point at another build (a copy under test). */
export const BIN = process.env.CUSTODY_E2E_BIN ?? fileURLToPath(new URL('../packages/cli/bin/run.js', import.meta.url));
export const TEMPLATES = fileURLToPath(new URL('../certs-templates/', import.meta.url));

/** The device-key passphrase (CUSTODY_DEVICE_PASSPHRASE) of every CLI child unless a test sets its own. */
export const E2E_DEVICE_PASSPHRASE = 'e2e device passphrase';

/** The environment of a CLI child: no store or templates from the caller's shell. */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.CUSTODY_STORE;
  delete env.CUSTODY_TEMPLATES;
  delete env.CUSTODY_PASSPHRASE;
  delete env.CUSTODY_DEBUG;
  // Keys made by --generate need a passphrase of their own: a fixed one for every test, unless a test says otherwise.
  env.CUSTODY_DEVICE_PASSPHRASE = E2E_DEVICE_PASSPHRASE;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs the built CLI (`node packages/cli/bin/run.js ...`) and waits for it. */
export function custody(args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string } = {}): SpawnSyncReturns<string> {
  // A batch's --json report can pass spawnSync's 1 MiB default.
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: cliEnv(opts.env), cwd: opts.cwd, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
}

/** A finished CLI run, its stdout parsed when it is JSON. */
export interface CLIRun {
  status: number | null;
  stdout: string;
  stderr: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Runs the built CLI like `custody`, and parses a JSON stdout. */
export function custodyJSON(args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string } = {}): CLIRun {
  const r = custody(args, opts);
  let json: unknown;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = undefined;
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json };
}

/** Runs openssl; throws with its stderr when it fails. */
export function openssl(args: string[], input?: string): string {
  const r = spawnSync('openssl', args, { encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/**
 * SHA-256 and mode of every file under `dir`, by relative path: equal snapshots mean nothing was written. A
 * store's `lock.key` is left out: it is the writer lock's state, renewed at every release, not a record.
 */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.name === 'lock.key' && existsSync(join(d, 'store.json'))) continue;
      if (e.isDirectory()) {
        out[`${relative(dir, p)}/`] = 'dir';
        walk(p);
      } else out[relative(dir, p)] = `${createHash('sha256').update(readFileSync(p)).digest('hex')} ${statSync(p).mode.toString(8)}`;
    }
  };
  walk(dir);
  return out;
}

/**
 * A new empty folder for a store under `parent`, whose writer lock nobody holds. Kept from before the lock-name fix (locks are now named by a random store id)
 * in packages/store/test/lock.test.ts: a process still holding the lock of a deleted store elsewhere on this
 * machine would otherwise lock a new folder that reuses its inode, and the test would wait 30 s.
 */
export async function freeStoreDir(parent: string, name: string): Promise<string> {
  const { acquireStoreLock } = await import('@custody/store/lock');
  const taken: string[] = [];
  try {
    for (let i = 0; i < 20; i++) {
      const dir = join(parent, i === 0 ? name : `${name}-${i}`);
      mkdirSync(dir);
      try {
        await (await acquireStoreLock(dir, 0)).release();
        return dir;
      } catch {
        taken.push(dir); // keep it until we are done, so that the next mkdir gets another inode
      }
    }
    throw new Error(`no folder with a free store lock under ${parent}`);
  } finally {
    for (const d of taken) rmdirSync(d);
  }
}
