/**
 * kill -9 during provisioning and handoff, on both backends (DESIGN.md guarantees: a crash at any point loses no
 * issued certificate, leaves no half record, and the log still verifies).
 *
 * One store per backend (root, issuing CA, a factory and an integrator party, both with keys here). Iterations
 * alternate between killing `devices provision --generate 100 --lot P<i>` and `devices handoff --lot H<j> --to
 * integrator` of a lot provisioned whole earlier, at a random moment (seeded): before the first output, while
 * certificates are being released, just as the journal grows (embedded), or anywhere in the run. After each kill:
 *   - embedded: every journal line is whole and checksummed; only a torn or uncommitted tail may follow them;
 *   - a fresh process finds every released certificate (a file in the out folder) in the store, byte for byte,
 *     in its lot; every device of the lots involved is whole (certificate parses and matches its digests;
 *     attestations parse, seq 0..n-1, each prev = SHA-256 of the previous DER; birth then at most one handoff);
 *   - a handed-off lot: each device has its old chain, or its old chain plus exactly one handoff;
 *   - the log (embedded; the PostgreSQL store keeps none yet): the root of the stored nodes is the root of the
 *     stored leaf hashes, each new leaf is the hash of the attestation it names, an inclusion proof verifies;
 *   - a new process can write: it provisions the next whole lot (H<i>), or finishes the handoff, where exactly
 *     the devices not handed off yet succeed and the others are refused (ERR_NOT_CUSTODIAN / ERR_FORK);
 *   - after that write: no torn tail is left, whole records are unchanged, every journaled device is found, and
 *     every attestation of the lots involved is in the log. Every FULL_EVERY iterations, and at the end, every
 *     device of the store is checked and the log root is recomputed from all attestations in log order; at the
 *     end `custody log prove` is checked against it too.
 *
 * CUSTODY_CRASH_ITERATIONS sets the number of kills per backend (default 50); CUSTODY_CRASH_SEED replays a run;
 * CUSTODY_CRASH_VERBOSE=1 prints every iteration.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { createHash } from 'node:crypto';
import { leafHash, verifyInclusion } from '@custody/core';
import { BIN, cliEnv, custody, freeStoreDir } from './e2e-helpers.js';
import { createTestDatabase, requirePg } from './pg/cluster.js';
// The fuzzer's seeded PRNG (mulberry32): a failing run replays with CUSTODY_CRASH_SEED.
import { prng } from '../packages/core/test/fuzz/mutate.js';

const CHECK = fileURLToPath(new URL('./crash-check.mjs', import.meta.url));
const PASS = 'crash test passphrase';
const ITERATIONS = Number(process.env.CUSTODY_CRASH_ITERATIONS ?? 50);
const SEED = Number(process.env.CUSTODY_CRASH_SEED ?? Date.now() % 2 ** 31);
const VERBOSE = Boolean(process.env.CUSTODY_CRASH_VERBOSE);
const BATCH = 100;
const FULL_EVERY = 25;
const PARTIES = { factory: 'factory', integrator: 'integrator' };

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits about `ms` without the 1 ms floor of timers: a busy loop with a yield. */
async function sleepOrSpin(ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until) await new Promise((r) => setImmediate(r));
}

interface JournalState {
  /** Each committed device record in order, as `serial/attestation count`. */
  records: string[];
  /** The newest committed version of each device: its attestation count. */
  devices: Map<string, number>;
  /** Whole records after the last commit line (an append cut short before its commit line). */
  uncommitted: number;
  /** Bytes after the last newline of the newest segment (a torn line), if any. */
  tornBytes: number;
}

/**
 * Reads the embedded journal the way a reader must find it: whole checksummed lines in groups each closed by
 * its commit line, then at most an uncommitted group and a torn line.
 */
function readJournal(store: string, where: string): JournalState {
  const dir = join(store, 'journal');
  const segments = readdirSync(dir)
    .filter((f) => /^\d{8}\.jsonl$/.test(f))
    .sort();
  const state: JournalState = { records: [], devices: new Map(), uncommitted: 0, tornBytes: 0 };
  let pending: Array<{ serial: string; n: number } | undefined> = [];
  for (const [i, seg] of segments.entries()) {
    const text = readFileSync(join(dir, seg), 'utf8');
    const last = text.lastIndexOf('\n');
    const tail = text.slice(last + 1);
    const newest = i === segments.length - 1;
    if (tail.length > 0) {
      assert.ok(newest, `${where}: ${seg} ends in an unterminated record but is not the newest segment`);
      state.tornBytes = Buffer.byteLength(tail);
    }
    assert.ok(newest || pending.length === 0, `${where}: ${seg} begins inside another segment's uncommitted group`);
    const lines = last < 0 ? [] : text.slice(0, last).split('\n');
    for (const [n, line] of lines.entries()) {
      assert.match(line, /^[0-9a-f]{8} \{/, `${where}: ${seg} line ${n + 1} is not a journal record`);
      const json = line.slice(9);
      assert.equal(line.slice(0, 8), crc32(json).toString(16).padStart(8, '0'), `${where}: ${seg} line ${n + 1}: checksum mismatch (a half-written record)`);
      const record = JSON.parse(json) as { t: string; n?: number; d?: { serial: string; attestations: string[] }; s?: string; q?: number };
      if (record.t === 'commit') {
        assert.equal(record.n, pending.length, `${where}: ${seg} line ${n + 1}: a commit of ${record.n} records after ${pending.length}`);
        for (const p of pending) {
          if (!p) continue;
          state.records.push(`${p.serial}/${p.n}`);
          state.devices.set(p.serial, p.n);
        }
        pending = [];
      } else if (record.t === 'device') pending.push({ serial: record.d!.serial, n: record.d!.attestations.length });
      // An attestation record (a handoff) appended after the device's earlier records: attestation q of its chain.
      else pending.push(record.t === 'att' ? { serial: record.s!, n: record.q! + 1 } : undefined);
    }
  }
  state.uncommitted = pending.length;
  return state;
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

/** CPU time (user + system, clock ticks) a process has used so far; undefined once it is gone. */
function cpuTicks(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

const STALL_MS = 5_000;

/**
 * Runs the built CLI to its end. A run that hangs, using no CPU for STALL_MS (the Node.js deadlock in
 * generateKeyPairSync + KeyObject.export({ format: 'jwk' }): see the `no CLI run hangs` case), is killed and
 * reported as `hung` instead.
 */
async function runToEnd(
  location: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string; hung: boolean }> {
  const child = spawn(process.execPath, [BIN, ...args, '--store', location], { env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  let done = false;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      done = true;
      resolve(code);
    }),
  );
  let ticks = -1;
  let still = performance.now();
  let hung = false;
  while (!done) {
    await sleep(100);
    const t = cpuTicks(child.pid!);
    if (t === undefined || done) break;
    if (t !== ticks) {
      ticks = t;
      still = performance.now();
    } else if (performance.now() - still > STALL_MS) {
      hung = true;
      child.kill('SIGKILL');
      break;
    }
  }
  const code = await exited;
  await new Promise((r) => setImmediate(r));
  return { code, stdout, stderr, hung };
}

interface CheckOptions {
  /** Out folders whose certificate files must be recorded, each in its lot. */
  outs?: Array<{ out: string; lot: string }>;
  lots?: string[];
  all?: boolean;
  serials?: string[];
  chainsOf?: string[];
  logFrom?: number;
  logCovers?: boolean;
  proveSerial?: string;
}

interface CheckReport {
  released: number;
  empty: string[];
  missing: string[];
  mismatched: string[];
  notInLot: string[];
  journalMissing: string[];
  broken: string[];
  checked: number;
  count: number;
  chains: Record<string, Record<string, string[]>>;
  log: { skipped: string } | { size: number; root: string; problems: string[]; unlogged: number };
  prove?: { attestations: string[]; leafIndexes: Array<number | undefined> };
}

/** A lot provisioned whole, ready to be handed off: each device's chain as SHA-256 of each attestation. */
interface HandoffLot {
  lot: string;
  chains: Record<string, string[]>;
}

function crashSuite(backend: 'embedded' | 'postgres'): void {
  describe(`kill -9 during devices provision and handoff: ${backend}`, function () {
    this.timeout(900_000);
    let tmp: string;
    let location: string;
    let env: Record<string, string>;
    /** Duration of a whole `devices provision --generate BATCH`, and of its start until the first certificate file. */
    let provisionMs = 0;
    let firstOutputMs = 0;
    /** From the first certificate file to the end of that provisioning (releasing the batch). */
    let releaseMs = 0;
    let handoffMs = 0;
    /** CLI runs that hung (and were killed, and run again). */
    const hangs: string[] = [];

    const run = (args: string[]) => custody([...args, '--store', location], { env });
    const check = (o: CheckOptions): CheckReport => {
      const r = spawnSync(process.execPath, [CHECK, JSON.stringify({ location, keyDir: env.CUSTODY_KEYS, ...PARTIES, ...o })], {
        encoding: 'utf8',
        env: cliEnv(),
        maxBuffer: 256 * 1024 * 1024,
        timeout: 120_000,
      });
      assert.equal(r.status, 0, `crash-check failed (${r.signal ?? r.error?.message ?? `exit ${r.status}`}): ${r.stderr}`);
      return JSON.parse(r.stdout) as CheckReport;
    };
    /** Starts a CLI command; `exited` resolves when it ends. */
    const start = (args: string[]) => {
      const child = spawn(process.execPath, [BIN, ...args, '--store', location], { env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
      const io = { stdout: '', stderr: '', done: false };
      child.stdout.on('data', (d) => (io.stdout += d));
      child.stderr.on('data', (d) => (io.stderr += d));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on('exit', (code, signal) => {
          io.done = true;
          resolve({ code, signal });
        }),
      );
      return { child, io, exited };
    };
    const provisionArgs = (lot: string, out: string) => [
      'devices',
      'provision',
      '--ca',
      'issuing',
      '--party',
      PARTIES.factory,
      '--generate',
      String(BATCH),
      '--serial-pattern',
      `${lot}-{seq:4}`,
      '--lot',
      lot,
      '--out',
      out,
    ];
    const handoffArgs = (lot: string) => ['devices', 'handoff', '--lot', lot, '--party', PARTIES.factory, '--to', PARTIES.integrator];

    before(async function () {
      tmp = mkdtempSync(join(tmpdir(), `custody-crash-${backend}-`));
      // Handoffs sign on a worker thread, as large batches do (transfer-pool.ts): the kills then also land while
      // the worker runs. The store's write path is the same whichever thread signed.
      env = { CUSTODY_PASSPHRASE: PASS, CUSTODY_THREADS: '1' };
      if (backend === 'embedded') location = await freeStoreDir(tmp, 'store');
      else {
        location = await createTestDatabase(requirePg(this), 'custody_crash');
        env.CUSTODY_KEYS = join(tmp, 'keys');
      }
      for (const args of [
        ['init'],
        ['ca', 'create', '--name', 'root', '--organization', 'Acme'],
        ['ca', 'create', '--name', 'issuing', '--issuer', 'root', '--organization', 'Acme'],
        ['parties', 'create', '--name', PARTIES.factory, '--ca', 'root', '--organization', 'Acme'],
        ['parties', 'create', '--name', PARTIES.integrator, '--ca', 'root', '--organization', 'Northwind'],
        ['log', 'init', '--origin', `custody.example/crash-${backend}`, '--pub', join(tmp, 'log.pub')],
      ]) {
        const r = run(args);
        assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      }
      // Time one whole provisioning and one whole handoff: the kill delays are drawn from these.
      for (let attempt = 0; ; attempt++) {
        const lot = `S${attempt}`;
        const out = join(tmp, `out-${lot}`);
        const p = start(provisionArgs(lot, out));
        const t0 = performance.now();
        while (!p.io.done && certFiles(out) === 0 && performance.now() - t0 < 2 * STALL_MS) await sleep(2);
        firstOutputMs = performance.now() - t0;
        if (!p.io.done && certFiles(out) === 0) {
          hangs.push(`setup: devices provision --lot ${lot}`);
          p.child.kill('SIGKILL');
          await p.exited;
          continue;
        }
        assert.equal((await p.exited).code, 0, `the timing provisioning failed: ${p.io.stderr}`);
        provisionMs = performance.now() - t0;
        releaseMs = provisionMs - firstOutputMs;
        const t1 = performance.now();
        const h = run(handoffArgs(lot));
        assert.equal(h.status, 0, `the timing handoff failed: ${h.stderr}`);
        handoffMs = performance.now() - t1;
        break;
      }
    });
    after(function () {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    it(`loses no released certificate, leaves no half record or second handoff, and the log verifies (${ITERATIONS} kills, seed ${SEED})`, async function () {
      const random = prng(SEED + (backend === 'embedded' ? 0 : 1));
      const embedded = backend === 'embedded';
      const began = performance.now();
      const stats = { kills: 0, finished: 0, beforeOutput: 0, midBatch: 0, torn: 0, uncommitted: 0, readerLag: 0, logLag: 0, checked: 0, released: 0 };
      const lines: string[] = [];
      const ready: HandoffLot[] = [];
      let journal = embedded ? readJournal(location, 'before the first kill') : undefined;
      let logSize = 0;
      let lastOk = 0;
      let lastHanded: string | undefined;

      /** The checks after a write by a new process: no tail, whole records unchanged, every journaled device found. */
      const afterWrite = (where: string): string[] => {
        if (!journal) return [];
        const now = readJournal(location, `${where}, after the next write`);
        assert.equal(now.tornBytes, 0, `${where}: a torn line is still there after the next write`);
        assert.equal(now.uncommitted, 0, `${where}: an uncommitted group is still there after the next write`);
        assert.deepEqual(now.records.slice(0, journal.records.length), journal.records, `${where}: committed records changed`);
        journal = now;
        return [...now.devices.keys()];
      };
      const assertLog = (r: CheckReport, where: string) => {
        if ('skipped' in r.log) return;
        assert.deepEqual(r.log.problems, [], `${where}: the log does not verify`);
        assert.ok(r.log.size >= logSize, `${where}: the log shrank from ${logSize} to ${r.log.size}`);
        logSize = r.log.size;
      };
      const assertWhole = (r: CheckReport, where: string) => {
        assert.deepEqual(r.missing, [], `${where}: released certificates missing from the store`);
        assert.deepEqual(r.mismatched, [], `${where}: released certificates that differ from the store's`);
        assert.deepEqual(r.notInLot, [], `${where}: released certificates missing from their lot`);
        assert.deepEqual(r.journalMissing, [], `${where}: committed devices the store cannot find`);
        assert.deepEqual(r.broken, [], `${where}: half-written or malformed device records`);
        stats.checked += r.checked;
      };

      for (let i = 0; stats.kills < ITERATIONS; i++) {
        assert.ok(i < 2 * ITERATIONS + 10, `only ${stats.kills} of ${i} runs were killed before they finished: the kill delays are too long`);
        const handoff = i % 2 === 1 && ready.length > 0;
        const full = (i + 1) % FULL_EVERY === 0;
        const where = `${backend}, seed ${SEED}, iteration ${i}`;
        const target = handoff ? ready.shift()! : undefined;
        const lot = target?.lot ?? `P${i}`;
        const out = join(tmp, `out-${lot}`);

        // 1. Start the command and kill it at a random moment.
        // early: during start-up, before the first output; late: the last third of a typical run (the handoff's
        // one write); journal: 0-3 ms after the journal starts to grow (the append, its fdatasync, the index and
        // log updates); releasing: while certificate files are being written.
        const modes = handoff
          ? (['early', 'late', embedded ? 'journal' : 'late', 'anywhere'] as const)
          : (['early', 'releasing', 'releasing', embedded ? 'journal' : 'late', 'anywhere'] as const);
        const mode = modes[Math.floor(random() * modes.length)]!;
        const total = handoff ? handoffMs : provisionMs;
        const { child, io, exited } = start(handoff ? handoffArgs(lot) : provisionArgs(lot, out));
        const started = performance.now();
        if (mode === 'early') await sleep(random() * (handoff ? 0.6 * total : firstOutputMs));
        else if (mode === 'anywhere') await sleep(random() * 1.1 * total);
        else if (mode === 'late') await sleep((0.65 + random() * 0.4) * total);
        else if (mode === 'journal') {
          const size = journalSize(location);
          while (!io.done && journalSize(location) === size && performance.now() - started < 2 * STALL_MS + total) await sleepOrSpin(1);
          if (!io.done && journalSize(location) === size) hangs.push(`${where}: the ${handoff ? 'handoff' : 'provisioning'} to be killed never wrote`);
          await sleepOrSpin(random() * 3);
        } else {
          while (!io.done && certFiles(out) === 0 && performance.now() - started < 2 * STALL_MS + total) await sleep(2);
          if (!io.done && certFiles(out) === 0) hangs.push(`${where}: the provisioning to be killed never released a certificate`);
          await sleep(random() * releaseMs);
        }
        const filesAtKill = handoff ? 0 : certFiles(out);
        const outputAtKill = handoff ? io.stdout.length > 0 : filesAtKill > 0;
        child.kill('SIGKILL');
        const killedAt = Math.round(performance.now() - started);
        const { code, signal } = await exited;
        assert.ok(signal === 'SIGKILL' || code === 0, `${where}: the ${handoff ? 'handoff' : 'provisioning'} failed on its own (exit ${code}): ${io.stderr}`);
        if (signal === 'SIGKILL') {
          stats.kills++;
          if (!outputAtKill) stats.beforeOutput++;
        } else stats.finished++;

        // 2. Before any other process writes: whole journal records, at most a torn or uncommitted tail.
        let tail = '';
        if (journal) {
          const now = readJournal(location, `${where}, after the kill`);
          assert.deepEqual(now.records.slice(0, journal.records.length), journal.records, `${where}: committed records changed`);
          if (now.tornBytes > 0) stats.torn++;
          if (now.uncommitted > 0) stats.uncommitted++;
          tail = `, tail ${now.uncommitted} uncommitted + ${now.tornBytes} B torn`;
          journal = { ...now, tornBytes: 0, uncommitted: 0 };
        }

        // 3. A fresh process finds every released certificate, whole records, and a log that verifies.
        const inLot = (serial: string) => serial.startsWith(`${lot}-`);
        const journaled = journal ? [...journal.devices.keys()].filter(inLot) : [];
        const killed = check(
          handoff
            ? { lots: [lot], chainsOf: [lot], logFrom: logSize }
            : { outs: [{ out, lot }], lots: [lot], chainsOf: [lot], logFrom: logSize, serials: journaled },
        );
        // A reader that opens the store right after a crash between the journal commit and the index, lot and log
        // updates sees those records only once a writer has replayed the journal: counted, not a failure.
        const seen = killed.chains[lot]!;
        const lag = killed.journalMissing.length + journaled.filter((serial) => seen[serial] && seen[serial]!.length < journal!.devices.get(serial)!).length;
        stats.readerLag += lag;
        if (lag > 0) tail += `, ${lag} committed records not yet visible to a reader`;
        killed.journalMissing = [];
        assertWhole(killed, `${where}, after the kill`);
        assertLog(killed, `${where}, after the kill`);
        if (!('skipped' in killed.log)) stats.logLag += killed.log.unlogged;
        let summary: string;
        let handedBefore = new Set<string>();
        if (target) {
          const chains = killed.chains[lot]!;
          assert.deepEqual(Object.keys(chains).sort(), Object.keys(target.chains).sort(), `${where}: lot ${lot} changed its devices`);
          for (const [serial, old] of Object.entries(target.chains)) {
            const now = chains[serial]!;
            assert.deepEqual(now.slice(0, old.length), old, `${where}: device ${serial} lost or changed attestations`);
            assert.ok(
              now.length === old.length || now.length === old.length + 1,
              `${where}: device ${serial} has ${now.length - old.length} handoffs (expected 0 or 1)`,
            );
            if (now.length > old.length) handedBefore.add(serial);
            // A handoff the journal committed counts even when a reader does not see it yet (see readerLag).
            const committed = journal?.devices.get(serial);
            if (committed !== undefined) {
              assert.ok(
                committed === old.length || committed === old.length + 1,
                `${where}: device ${serial} has ${committed - old.length} handoffs in the journal (expected 0 or 1)`,
              );
              if (committed > old.length) handedBefore.add(serial);
            }
          }
          if (handedBefore.size > 0 && handedBefore.size < Object.keys(chains).length) stats.midBatch++;
          summary = `handoff ${lot}: ${mode} kill at ${killedAt} ms, ${signal ?? `exit ${code}`}, ${handedBefore.size} of ${Object.keys(chains).length} handed off`;
        } else {
          stats.released += killed.released;
          if (killed.released > 0 && killed.released < BATCH) stats.midBatch++;
          summary = `provision ${lot}: ${mode} kill at ${killedAt} ms, ${signal ?? `exit ${code}`}, ${filesAtKill} files at the kill, ${killed.released} released, ${killed.checked} recorded`;
        }

        // 4. A new process opens the store and writes: the next whole lot, or the rest of the handoff.
        let next: string | undefined;
        const outs: Array<{ out: string; lot: string }> = [];
        const lots = [lot];
        if (target) {
          let r = await runToEnd(location, [...handoffArgs(lot), '--json'], env);
          while (r.hung) {
            hangs.push(`${where}: devices handoff --lot ${lot} (after the kill)`);
            // The hung run was killed too: what it handed off counts as handed off before.
            const chains = check({ chainsOf: [lot] }).chains[lot]!;
            handedBefore = new Set(Object.keys(chains).filter((serial) => chains[serial]!.length > target.chains[serial]!.length));
            r = await runToEnd(location, [...handoffArgs(lot), '--json'], env);
          }
          // The re-run completes the killed one: a device it handed off is held by the recipient already (a
          // no-op success, nothing signed), the others are handed off now.
          const result = JSON.parse(r.stdout).data as { results: Array<{ serial: string; ok: boolean; already?: boolean; code?: string; message?: string }> };
          const failed = result.results.filter((x) => !x.ok).slice(0, 3);
          assert.equal(r.code, 0, `${where}: the handoff after the kill exited ${r.code}: ${r.stderr}${JSON.stringify(failed)}`);
          assert.equal(result.results.length, Object.keys(target.chains).length);
          for (const x of result.results) {
            if (handedBefore.has(x.serial))
              assert.ok(
                x.ok && x.already === true,
                `${where}: device ${x.serial}, handed off before the kill, was ${x.ok ? 'handed off again' : `refused with ${x.code}`}`,
              );
            else assert.ok(x.ok && !x.already, `${where}: device ${x.serial} could not be handed off after the kill: ${x.code}`);
          }
          lastHanded = lot;
        } else {
          // The killed lot's released certificates must still be there after the next writer cut its tail.
          outs.push({ out, lot });
          for (let attempt = 0; ; attempt++) {
            next = attempt === 0 ? `H${i}` : `H${i}R${attempt}`;
            outs.push({ out: join(tmp, `out-${next}`), lot: next });
            lots.push(next);
            const t = performance.now();
            const r = await runToEnd(location, provisionArgs(next, join(tmp, `out-${next}`)), env);
            if (r.hung) {
              hangs.push(`${where}: devices provision --lot ${next} (after the kill)`);
              continue;
            }
            assert.equal(r.code, 0, `${where}: the next provisioning failed (exit ${r.code}): ${r.stderr}`);
            provisionMs = 0.8 * provisionMs + 0.2 * (performance.now() - t);
            break;
          }
        }
        const committed = afterWrite(where);

        // 5. After the write: everything still there, the new records whole and logged.
        const after = check({
          outs,
          lots,
          all: full,
          chainsOf: [next ?? lot],
          serials: full ? committed : committed.filter((s) => lots.some((l) => s.startsWith(`${l}-`))),
          logFrom: logSize,
          logCovers: true,
        });
        assertWhole(after, `${where}, after the next write`);
        assertLog(after, `${where}, after the next write`);
        if (journal)
          for (const [serial, chain] of Object.entries(after.chains[next ?? lot]!))
            assert.equal(
              chain.length,
              journal.devices.get(serial),
              `${where}: device ${serial} has ${chain.length} attestations in the store, ${journal.devices.get(serial)} in the journal`,
            );
        if (next) {
          const chains = after.chains[next]!;
          assert.equal(Object.keys(chains).length, BATCH, `${where}: the next provisioning recorded ${Object.keys(chains).length} devices`);
          ready.push({ lot: next, chains });
        } else {
          for (const [serial, chain] of Object.entries(after.chains[lot]!))
            assert.equal(chain.length, target!.chains[serial]!.length + 1, `${where}: device ${serial} has ${chain.length} attestations after the handoff`);
        }
        lastOk = i;
        lines.push(`${i}: ${summary}${tail}; ${after.count} devices in the store; ${Math.round(performance.now() - started)} ms`);
        if (VERBOSE) console.log(`      ${lines.at(-1)}`);
      }

      // 6. The whole store once more, and the log through the CLI: `log prove` of a device handed off last.
      const final = check({ all: true, logFrom: 0, logCovers: true });
      assertWhole(final, `${backend}, seed ${SEED}, at the end`);
      assertLog(final, `${backend}, seed ${SEED}, at the end`);
      if (!('skipped' in final.log) && lastHanded) {
        const serial = `${lastHanded}-0001`;
        const r = run(['log', 'prove', '--serial', serial, '--json']);
        assert.equal(r.status, 0, `log prove --serial ${serial}: ${r.stdout}${r.stderr}`);
        const proof = JSON.parse(r.stdout).data as {
          rootHash: string;
          treeSize: number;
          proofs: Array<{ seq: number; leafIndex: number; treeSize: number; hashes: string[] }>;
        };
        assert.equal(proof.treeSize, final.log.size);
        assert.equal(proof.rootHash, final.log.root, 'log prove names another root than the one recomputed from every attestation');
        const device = check({ proveSerial: serial });
        assert.equal(proof.proofs.length, 2, `log prove gives ${proof.proofs.length} proofs for ${serial}`);
        for (const p of proof.proofs) {
          assert.equal(
            p.leafIndex,
            device.prove!.leafIndexes[p.seq],
            `${serial} attestation ${p.seq}: log prove names leaf ${p.leafIndex}, the store ${device.prove!.leafIndexes[p.seq]}`,
          );
          const leaf = leafHash(Buffer.from(device.prove!.attestations[p.seq]!, 'base64'), sha256);
          verifyInclusion(
            leaf,
            { leafIndex: p.leafIndex, treeSize: p.treeSize, hashes: p.hashes.map((h) => Buffer.from(h, 'base64')) },
            Buffer.from(proof.rootHash, 'base64'),
            sha256,
          );
        }
      }

      const seconds = ((performance.now() - began) / 1000).toFixed(1);
      const logged =
        'skipped' in final.log
          ? 'no log (this backend keeps none)'
          : `log of ${final.log.size} verified, ${stats.logLag} attestations not yet logged right after a kill`;
      console.log(
        `      ${backend}: ${stats.kills} kills in ${seconds} s (${stats.beforeOutput} before the first output, ${stats.midBatch} mid-batch, ${stats.finished} runs finished first), ` +
          `${embedded ? `${stats.torn} torn tails, ${stats.uncommitted} uncommitted groups, ${stats.readerLag} committed records a reader saw only after the next write, ` : ''}${logged}, ` +
          `${stats.checked} device records checked, ${stats.released} released certificates found, ${final.count} devices; seed ${SEED}, last iteration ${lastOk}`,
      );
      assert.ok(stats.released > 0, 'some kills landed while certificates were being released');
      assert.ok(stats.beforeOutput > 0, 'some kills landed before the first output');
    });

    // BUG (not crash safety, found by this test): `devices provision --generate N` sometimes hangs forever at 0%
    // CPU on Node.js v20.20.2. gdb: the main thread, inside KeyObjectHandle::ExportJWK (holding the key data's
    // mutex), runs a GC whose weak callback destroys a KeyGenJob<EcKeyGenTraits> that locks the same mutex. The
    // trigger is core's NodeCryptoProvider.generateKeyPair (generateKeyPairSync, then spkiOf's
    // publicKey.export({ format: 'jwk' })); a 6-line script looping over those two calls hangs the same way
    // within seconds, while export({ format: 'der', type: 'spki' }) does not. The crash test kills hung runs and
    // runs them again; this case fails if any run hung.
    it('no CLI run hangs (Node.js generateKeyPairSync + export jwk deadlock)', function () {
      assert.deepEqual(hangs, [], `${hangs.length} CLI runs hung at 0% CPU and were killed`);
    });
  });
}

crashSuite('embedded');
crashSuite('postgres');
