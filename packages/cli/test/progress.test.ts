/**
 * The progress bar: drawn only on a terminal and for more than one item, its library loaded only then (a run
 * of one CSR, the cold-start path, must not pay for it). Each case runs in a fresh process, whose module
 * cache tells whether cli-progress was loaded.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PROGRESS = fileURLToPath(new URL('../src/progress.ts', import.meta.url));

/** Runs startProgress in a child whose stderr claims to be a terminal or not; returns what it printed. */
function run(tty: boolean, total: number): { loaded: boolean; stderr: string } {
  const script = `
    import { createRequire } from 'node:module';
    process.stderr.isTTY = ${tty};
    const { startProgress } = await import(${JSON.stringify(PROGRESS)});
    const p = startProgress(true, 'testing');
    p.update(1, ${total});
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
    const r = run(true, 10);
    assert.equal(r.loaded, true);
    assert.match(r.stderr, /testing \[/);
  });

  it('neither draws nor loads cli-progress for one item, or off a terminal (regression: loaded on every cold start)', function () {
    for (const [tty, total] of [
      [true, 1],
      [false, 10],
    ] as const) {
      const r = run(tty, total);
      assert.equal(r.loaded, false, `tty ${tty}, total ${total}`);
      assert.equal(r.stderr, '');
    }
  });
});
