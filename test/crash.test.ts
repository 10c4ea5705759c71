/**
 * kill -9 during factory provisioning (DESIGN.md guarantees: a crash at any point loses no issued certificate and
 * leaves no half record). `custody devices provision --generate 400` runs in a child process and is killed with
 * SIGKILL at a random moment, again and again on one store. After each kill:
 *   - every journal line is whole and checksummed; only an unterminated tail (a torn append) may follow them;
 *   - a fresh process finds every released certificate (a file in the out folder) in the store, byte for byte,
 *     and in its lot;
 *   - the next `devices provision` succeeds, cuts off any torn tail, and every device in the journal is found.
 *
 * Most kills land after the first certificate files exist (the batch is committed, certificates are being
 * released); of every four, one lands just as the journal starts to grow (the append, its fdatasync, the index
 * updates) and one anywhere in the run (key generation, issuing, committing).
 * CUSTODY_CRASH_ITERATIONS sets the number of kills (default 10); CUSTODY_CRASH_SEED replays a run.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { BIN, cliEnv, custody, freeStoreDir, openssl } from './e2e-helpers.js';

const CHECK = fileURLToPath(new URL('./crash-check.mjs', import.meta.url));
const PASS = 'crash test passphrase';
const ITERATIONS = Number(process.env.CUSTODY_CRASH_ITERATIONS ?? 10);
const SEED = Number(process.env.CUSTODY_CRASH_SEED ?? Date.now() % 2 ** 31);
const BATCH = 400;

/** mulberry32: a seeded PRNG, so that a failing run can be replayed with CUSTODY_CRASH_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface JournalState {
  /** Serials of every whole record, in order. */
  serials: string[];
  /** Bytes after the last newline of the newest segment (a torn append), if any. */
  tornBytes: number;
}

/** Reads the journal the way a reader must find it: whole checksummed lines, then at most a torn tail. */
function readJournal(store: string, where: string): JournalState {
  const dir = join(store, 'journal');
  const segments = readdirSync(dir)
    .filter((f) => /^\d{8}\.jsonl$/.test(f))
    .sort();
  const serials: string[] = [];
  let tornBytes = 0;
  for (const [i, seg] of segments.entries()) {
    const text = readFileSync(join(dir, seg), 'utf8');
    const last = text.lastIndexOf('\n');
    const tail = text.slice(last + 1);
    if (tail.length > 0) {
      assert.equal(i, segments.length - 1, `${where}: ${seg} ends in an unterminated record but is not the newest segment`);
      tornBytes = Buffer.byteLength(tail);
    }
    const lines = last < 0 ? [] : text.slice(0, last).split('\n');
    for (const [n, line] of lines.entries()) {
      assert.match(line, /^[0-9a-f]{8} \{/, `${where}: ${seg} line ${n + 1} is not a journal record`);
      const json = line.slice(9);
      assert.equal(line.slice(0, 8), crc32(json).toString(16).padStart(8, '0'), `${where}: ${seg} line ${n + 1}: checksum mismatch (a half-written record)`);
      const record = JSON.parse(json) as { t: string; d: { serial: string } };
      if (record.t === 'device') serials.push(record.d.serial);
    }
  }
  return { serials, tornBytes };
}

interface CheckReport {
  released: number;
  empty: string[];
  missing: string[];
  mismatched: string[];
  notInLot: string[];
  journalMissing: string[];
  count: number;
}

function checkStore(store: string, out: string, lot: string, serials: string[] = []): CheckReport {
  const r = spawnSync(process.execPath, [CHECK, store, out, lot, ...serials], { encoding: 'utf8', env: cliEnv(), maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, `crash-check failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as CheckReport;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits about `ms` without the 1 ms floor of timers: a busy loop with a yield. */
async function sleepOrSpin(ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until) await new Promise((r) => setImmediate(r));
}

function journalSize(store: string): number {
  const dir = join(store, 'journal');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

function certFiles(out: string): number {
  try {
    return readdirSync(out).filter((f) => f.endsWith('.pem') && !f.endsWith('.key.pem')).length;
  } catch {
    return 0;
  }
}

describe('kill -9 during devices provision', function () {
  this.timeout(300_000);
  let tmp: string;
  let store: string;
  const env = { CUSTODY_PASSPHRASE: PASS };

  before(async function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-crash-'));
    store = await freeStoreDir(tmp, 'store');
    for (const args of [
      ['init'],
      ['ca', 'create', '--name', 'root', '--organization', 'Acme'],
      ['ca', 'create', '--name', 'issuing', '--issuer', 'root', '--organization', 'Acme'],
      ['parties', 'create', '--name', 'factory', '--ca', 'root', '--organization', 'Acme'],
    ]) {
      const r = custody([...args, '--store', store], { env });
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    }
  });
  after(function () {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it(`loses no released certificate and leaves no half record (${ITERATIONS} kills, seed ${SEED})`, async function () {
    const random = prng(SEED);
    const summary: string[] = [];
    let releasedTotal = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const out = join(tmp, `out-${i}`);
      const lot = `LOT-${i}`;
      const mode = (['releasing', 'releasing', 'journal', 'anywhere'] as const)[i % 4]!;
      const where = `seed ${SEED}, iteration ${i}`;
      const child = spawn(process.execPath, [BIN, 'devices', 'provision', '--store', store, '--ca', 'issuing', '--generate', String(BATCH), '--serial-pattern', `K${i}-{seq:4}`, '--lot', lot, '--out', out], {
        env: cliEnv(env),
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
      let done = false;
      void exited.then(() => (done = true));

      const started = Date.now();
      if (mode === 'anywhere') await sleep(100 + random() * 700);
      else if (mode === 'journal') {
        const size = journalSize(store);
        while (!done && journalSize(store) === size && Date.now() - started < 15_000) await sleepOrSpin(1);
        await sleepOrSpin(random() * 3);
      } else {
        while (!done && certFiles(out) === 0 && Date.now() - started < 15_000) await sleep(5);
        await sleep(random() * 400);
      }
      child.kill('SIGKILL');
      const killedAt = Date.now() - started;
      const { code, signal } = await exited;
      assert.ok(signal === 'SIGKILL' || code === 0, `${where}: the provisioning failed on its own (exit ${code}): ${stderr}`);

      // 1. Before any other process touches the store: whole records, at most a torn tail.
      const journal = readJournal(store, `${where}, after the kill`);
      // 2. A fresh process finds every released certificate.
      const check = checkStore(store, out, lot);
      assert.deepEqual(check.missing, [], `${where}: released certificates missing from the store`);
      assert.deepEqual(check.mismatched, [], `${where}: released certificates that differ from the store's`);
      assert.deepEqual(check.notInLot, [], `${where}: released certificates missing from their lot`);
      releasedTotal += check.released;

      // 3. The next writer opens the store fine and cuts off a torn tail.
      const csr = join(tmp, `after-${i}.csr`);
      openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(tmp, `after-${i}.key`), '-subj', `/O=Acme/serialNumber=AFTER-${i}`, '-out', csr]);
      const next = custody(['devices', 'provision', '--store', store, '--ca', 'issuing', '--csr', csr, '--lot', lot, '--out', out], { env });
      assert.equal(next.status, 0, `${where}: the next provisioning failed: ${next.stderr}`);
      assert.ok(existsSync(join(out, `AFTER-${i}.pem`)));

      const after = readJournal(store, `${where}, after the next write`);
      assert.equal(after.tornBytes, 0, `${where}: the torn tail is still there after the next write`);
      assert.deepEqual(after.serials.slice(0, journal.serials.length), journal.serials, `${where}: whole records changed`);
      assert.equal(after.serials.at(-1), `AFTER-${i}`);
      assert.equal(new Set(after.serials).size, after.serials.length, `${where}: a serial journaled twice`);

      // 4. Every journaled device is found, and the store still holds every released certificate.
      const final = checkStore(store, out, lot, after.serials);
      assert.deepEqual(final.journalMissing, [], `${where}: journaled devices the store cannot find`);
      assert.deepEqual(final.missing, [], `${where}: released certificates missing after recovery`);
      assert.deepEqual(final.mismatched, []);
      summary.push(`${i}: ${mode} kill at ${killedAt} ms: ${signal ?? `exit ${code}`}, ${check.released} released, ${journal.serials.length} journaled in all, torn tail ${journal.tornBytes} B`);
    }
    if (process.env.CUSTODY_CRASH_VERBOSE) console.log(summary.join('\n'));
    assert.ok(releasedTotal > 0, 'some kills landed while certificates were being released');
  });
});
