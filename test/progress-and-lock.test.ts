/**
 * Issue 21's batch feedback, with the built CLI: the progress bar moves through every phase of a provisioning and a
 * handoff batch with a rate and the time left (drawn off a terminal only under CUSTODY_PROGRESS=force, never under
 * --json), and a writer made to wait for the store lock says who holds it and how long it will wait, then gives up
 * with ERR_STORE_LOCKED.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, cliEnv, custodyJSON, snapshot, type CLIRun } from './e2e-helpers.js';

const PASS = 'progress test passphrase';
const LOCK_SRC = fileURLToPath(new URL('../packages/store/src/lock.ts', import.meta.url));

/** The phases a line of the forced bar names, in the order they first appear. */
function phasesShown(stderr: string, label: string): string[] {
  const seen: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = new RegExp(`^${label}: ([a-z ]+?) (\\d+)/(\\d+) (\\S+/s) (eta \\S+|done)$`).exec(line);
    if (m && !seen.includes(m[1]!)) seen.push(m[1]!);
  }
  return seen;
}

describe('progress bar phases and the store lock wait (issue 21, built CLI)', function () {
  this.timeout(300_000);
  let tmp: string;
  let store: string;
  const cli = (args: string[], env: Record<string, string | undefined> = {}): CLIRun =>
    custodyJSON(args, { env: { CUSTODY_PASSPHRASE: PASS, ...env }, cwd: tmp });
  const ok = (...args: string[]): CLIRun => {
    const r = cli(args);
    assert.equal(r.status, 0, `custody ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r;
  };

  before(function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-progress-e2e-'));
    store = join(tmp, 'store');
    ok('init', '--store', store);
    ok('ca', 'create', '--store', store, '--name', 'root', '--organization', 'Acme');
    ok('ca', 'create', '--store', store, '--name', 'issuing', '--issuer', 'root', '--organization', 'Acme');
    ok('parties', 'create', '--store', store, '--name', 'factory', '--ca', 'root', '--organization', 'Acme');
    ok('parties', 'create', '--store', store, '--name', 'integrator', '--ca', 'root', '--organization', 'Northwind');
    const party = JSON.parse(readFileSync(join(store, 'store.json'), 'utf8')).parties.integrator.certificate as string;
    writeFileSync(join(tmp, 'integrator.pem'), party);
  });
  after(function () {
    rmSync(tmp, { recursive: true, force: true });
  });

  it('provisioning with keys made on the line shows every phase in order, each with a rate and the time left (was: blank, then 0 to N)', function () {
    const r = cli(
      ['devices', 'provision', '--store', store, '--ca', 'issuing', '--party', 'factory', '--generate', '40', '--lot', 'P1', '--out', join(tmp, 'out')],
      { CUSTODY_PROGRESS: 'force' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(phasesShown(r.stderr, 'provisioning'), ['generating keys', 'checking requests', 'writing keys', 'signing', 'committing', 'writing files']);
    assert.match(r.stderr, /^provisioning: writing files 40\/40 \S+\/s done$/m, 'the last line is the whole batch written, with its rate');
  });

  it('handing off a lot shows reading, signing and committing', function () {
    const r = cli(['devices', 'handoff', '--store', store, '--lot', 'P1', '--party', 'factory', '--to', join(tmp, 'integrator.pem')], {
      CUSTODY_PROGRESS: 'force',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(phasesShown(r.stderr, 'handing off'), ['reading chains', 'signing', 'committing']);
  });

  it('draws nothing under --json even when forced, nor off a terminal, nor under CI', function () {
    const runs = [
      cli(['devices', 'provision', '--store', store, '--ca', 'issuing', '--party', 'factory', '--generate', '5', '--start', '100', '--json'], {
        CUSTODY_PROGRESS: 'force',
      }),
      cli(['devices', 'provision', '--store', store, '--ca', 'issuing', '--party', 'factory', '--generate', '5', '--start', '200'], {
        CUSTODY_PROGRESS: undefined,
        CI: undefined,
      }),
      cli(['devices', 'provision', '--store', store, '--ca', 'issuing', '--party', 'factory', '--generate', '5', '--start', '300'], {
        CUSTODY_PROGRESS: undefined,
        CI: 'true',
      }),
    ];
    for (const r of runs) {
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '');
    }
  });

  describe('a writer waiting for the store lock', function () {
    let holder: ChildProcess | undefined;
    afterEach(function () {
      holder?.kill('SIGKILL');
      holder = undefined;
    });

    /** A process holding `dir`'s lock until killed; resolves once it holds it. */
    const holdLock = (dir: string): Promise<ChildProcess> =>
      new Promise((resolve, reject) => {
        const code = `const { acquireStoreLock } = await import(${JSON.stringify(LOCK_SRC)});
await acquireStoreLock(${JSON.stringify(dir)}, 5000);
process.stdout.write('locked\\n');
setInterval(() => {}, 1000);`;
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
        child.stdout!.once('data', () => resolve(child));
        child.once('exit', (c) => reject(new Error(`the lock holder exited with ${c}`)));
      });

    it('prints one line naming the holder and the limit, then fails with ERR_STORE_LOCKED (exit 5), recording nothing (was: 30 s of silence)', async function () {
      holder = await holdLock(store);
      const before = snapshot(store);
      const r = cli(['devices', 'provision', '--store', store, '--ca', 'issuing', '--party', 'factory', '--generate', '1', '--start', '900', '--json'], {
        CUSTODY_LOCK_TIMEOUT: '1',
      });
      assert.equal(r.json?.error?.code, 'ERR_STORE_LOCKED', `${r.stdout}${r.stderr}`);
      assert.equal(r.status, 5);
      assert.match(r.json.error.message, new RegExp(`custody process ${holder.pid} on `));
      const lines = r.stderr.split('\n').filter((l) => l.includes('waiting for the store lock'));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(
        lines[0]!,
        new RegExp(
          `^custody: waiting for the store lock of ${store}, held by process ${holder.pid} on \\S+ \\(node, since \\d{4}-\\d\\d-\\d\\dT[^)]+\\); giving up after 1 s \\(CUSTODY_LOCK_TIMEOUT\\)$`,
        ),
      );
      assert.deepEqual(snapshot(store), before);
    });

    it('goes on once the holder is gone', async function () {
      holder = await holdLock(store);
      const child = spawn(
        process.execPath,
        [BIN, 'devices', 'provision', '--store', store, '--ca', 'issuing', '--party', 'factory', '--generate', '1', '--start', '901', '--json'],
        { cwd: tmp, env: cliEnv({ CUSTODY_PASSPHRASE: PASS, CUSTODY_LOCK_TIMEOUT: '60' }), stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      let stdout = '';
      child.stderr!.on('data', (b: Buffer) => {
        stderr += b.toString();
        // Released once the writer says it waits.
        if (stderr.includes('waiting for the store lock')) holder?.kill('SIGKILL');
      });
      child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
      const status = await new Promise<number | null>((resolve) => child.once('close', resolve));
      assert.equal(status, 0, `${stdout}${stderr}`);
      assert.match(stderr, /waiting for the store lock/);
      assert.equal(JSON.parse(stdout).data.devices[0].serial.endsWith('901'), true, stdout);
    });

    it('refuses a CUSTODY_LOCK_TIMEOUT that is not seconds with ERR_USAGE_LOCK_TIMEOUT (exit 2)', function () {
      const bad = cli(['devices', 'provision', '--store', store, '--ca', 'issuing', '--generate', '1', '--start', '902', '--json'], {
        CUSTODY_LOCK_TIMEOUT: 'soon',
      });
      assert.equal(bad.json?.error?.code, 'ERR_USAGE_LOCK_TIMEOUT', `${bad.stdout}${bad.stderr}`);
      assert.equal(bad.status, 2);
    });
  });
});
