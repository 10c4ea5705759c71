/**
 * The progress bar: drawn only on a terminal (or when forced), never under --json or CI, for more than one item,
 * its library loaded only when it draws on a terminal (a run of one CSR, the cold-start path, must not pay for it).
 * Drawing cases run in a fresh process, whose module cache tells whether cli-progress was loaded.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { progressMode } from '../src/progress.js';
import { pace, shownPhase, type PhaseState } from '../src/render/progress-line.js';
import type { BatchPhase } from '@custody/app/batch-progress';

const PROGRESS = fileURLToPath(new URL('../src/progress.ts', import.meta.url));

/**
 * Runs startProgress in a child whose stderr claims to be a terminal or not, feeding it `updates` with a clock
 * that moves 200 ms each update; returns what it printed.
 */
function run(tty: boolean, mode: string, updates: Array<[BatchPhase, number, number]>): { loaded: boolean; stderr: string } {
  const script = `
    import { createRequire } from 'node:module';
    process.stderr.isTTY = ${tty};
    const { startProgress } = await import(${JSON.stringify(PROGRESS)});
    let t = 0;
    const p = startProgress(${JSON.stringify(mode)}, 'testing', () => t);
    for (const [phase, done, total] of ${JSON.stringify(updates)}) { t += 200; p.update(phase, done, total); }
    p.stop();
    const loaded = Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('cli-progress'));
    process.stdout.write(JSON.stringify({ loaded }));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    cwd: fileURLToPath(new URL('..', import.meta.url)),
  });
  assert.equal(r.status, 0, r.stderr);
  return { loaded: (JSON.parse(r.stdout) as { loaded: boolean }).loaded, stderr: r.stderr };
}

describe('progress bar', function () {
  this.timeout(30_000);

  it('draws on a terminal for a batch, loading cli-progress then', function () {
    const r = run(true, 'tty', [['signing', 1, 10]]);
    assert.equal(r.loaded, true);
    assert.match(r.stderr, /testing: signing \[/);
  });

  it('neither draws nor loads cli-progress for one item, or when off (regression: loaded on every cold start)', function () {
    for (const [mode, total] of [
      ['tty', 1],
      ['off', 10],
    ] as const) {
      const r = run(mode === 'tty', mode, [['signing', 1, total]]);
      assert.equal(r.loaded, false, `${mode}, total ${total}`);
      assert.equal(r.stderr, '');
    }
  });

  it('forced off a terminal, prints a line per phase and count with its rate and time left, without cli-progress (was: blank during keys and checks)', function () {
    const r = run(false, 'lines', [
      ['keys', 1, 4],
      ['keys', 2, 4],
      ['keys', 4, 4],
      ['checks', 4, 4],
      ['signing', 2, 4],
      ['signing', 4, 4],
      ['committing', 4, 4],
    ]);
    assert.equal(r.loaded, false);
    assert.deepEqual(r.stderr.trim().split('\n'), [
      'testing: generating keys 1/4 -/s eta -',
      // One more key in 200 ms: 5 a second, two left.
      'testing: generating keys 2/4 5.0/s eta 1s',
      'testing: generating keys 4/4 7.5/s done',
      'testing: checking requests 4/4 -/s done',
      'testing: signing 2/4 -/s eta -',
      'testing: signing 4/4 10/s done',
      'testing: committing 4/4 -/s done',
    ]);
  });

  it('is never on under --json, off under CI unless forced, and follows the terminal otherwise', function () {
    assert.equal(progressMode(true, { CUSTODY_PROGRESS: 'force' }, true), 'off');
    assert.equal(progressMode(false, {}, true), 'tty');
    assert.equal(progressMode(false, {}, false), 'off');
    assert.equal(progressMode(false, { CI: 'true' }, true), 'off');
    assert.equal(progressMode(false, { CI: 'false' }, true), 'tty');
    assert.equal(progressMode(false, { CI: 'true', CUSTODY_PROGRESS: 'force' }, false), 'lines');
    assert.equal(progressMode(false, { CUSTODY_PROGRESS: 'force' }, true), 'tty');
    assert.equal(progressMode(false, { CUSTODY_PROGRESS: 'off' }, true), 'off');
  });

  it('shows the earliest phase not finished, and tells the time left from the rate since its first report', function () {
    const phases = new Map<BatchPhase, PhaseState>([
      ['signing', { done: 3000, total: 4000, start: 0, base: 0 }],
      ['committing', { done: 2048, total: 4000, start: 1000, base: 2048 }],
    ]);
    assert.equal(shownPhase(phases), 'signing');
    phases.get('signing')!.done = 4000;
    assert.equal(shownPhase(phases), 'committing');
    assert.deepEqual(pace({ done: 3000, total: 4000, start: 0, base: 1000 }, 2000), { rate: '1,000/s', left: 'eta 1s' });
    assert.deepEqual(pace({ done: 100, total: 100_000, start: 0, base: 0 }, 1000), { rate: '100/s', left: 'eta 16m39s' });
  });
});
