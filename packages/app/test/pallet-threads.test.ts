/**
 * The verifying threads of pallets are kept between the pallets of one process (pallet-threads.ts): a second
 * pallet reuses them, and each pallet is verified with its own evidence and rules only. A pallet verified
 * against other trust anchors right after one that passed must not pass: nothing of the first pallet's verifier
 * may answer for the second.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBundle, encodeBundle, encodePEM } from '@custody/core';
import { AT, makeWorld, type World } from '../../core/test/verification/fixtures.js';
// The built modules: the verifying threads run the compiled verify-worker.js.
import { verifyBundles } from '@custody/app/verify';
import { closePalletThreads, palletThreadsStarted } from '@custody/app/pallet-threads';

describe('verifying threads kept between pallets (pallet-threads.ts)', function () {
  this.timeout(120_000);
  let tmp: string;
  let w: World;
  let files: string[];
  let saved: string | undefined;

  before(async function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-pallet-threads-'));
    w = await makeWorld();
    const text = encodeBundle(createBundle({ certificate: w.device.der, chain: [w.acmeIssuing.der], attestations: w.chain }));
    files = [];
    for (let i = 0; i < 70; i++) {
      const file = join(tmp, `b${String(i).padStart(3, '0')}.json`);
      // One bundle of the pallet is damaged: a byte of its text changed.
      writeFileSync(file, i === 41 ? text.replace('"attestations"', '"attestationz"') : text);
      files.push(file);
    }
    saved = process.env.CUSTODY_THREADS;
    await closePalletThreads();
  });
  after(async function () {
    if (saved === undefined) delete process.env.CUSTODY_THREADS;
    else process.env.CUSTODY_THREADS = saved;
    await closePalletThreads();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** The pallet's verdicts against trust anchors `roots` (PEM files), on `threads` worker threads beside this one. */
  async function pallet(roots: Uint8Array[], threads: string, warned = (warnings: string[]) => assert.deepEqual(warnings, [])) {
    process.env.CUSTODY_THREADS = threads;
    const trust = roots.map((der, i) => {
      const file = join(tmp, `root-${i}-${threads}.pem`);
      writeFileSync(file, encodePEM(der, 'CERTIFICATE'));
      return file;
    });
    const warnings: string[] = [];
    const verdicts = await verifyBundles(undefined, { bundles: files, trust, cas: [], crls: [], at: AT, onWarning: (m) => warnings.push(m) });
    warned(warnings);
    return verdicts.map((v) => ({ file: v.file, ok: v.report.ok, code: v.report.code, checks: v.report.checks.map((c) => [c.name, c.ok, c.code]) }));
  }

  it('a second pallet reuses the threads; each pallet gets its own verdicts, the same as on one thread', async function () {
    const before = palletThreadsStarted();
    const trusted = await pallet(w.trustAnchors, '1');
    assert.equal(trusted.filter((v) => v.ok).length, 69);
    assert.equal(trusted[41]!.ok, false);
    assert.deepEqual(trusted, await pallet(w.trustAnchors, '0'));
    // The same files against a root that issued none of them, on the same threads: every bundle is refused.
    const strangers = await pallet([w.fabrikamRoot.der], '1');
    assert.equal(palletThreadsStarted(), before + 1, 'the second pallet ran on the threads of the first');
    assert.equal(strangers.filter((v) => v.ok).length, 0);
    assert.deepEqual(strangers, await pallet([w.fabrikamRoot.der], '0'));
    // And back: the first pallet's evidence was not lost with the second's.
    assert.deepEqual(await pallet(w.trustAnchors, '1'), trusted);
    assert.equal(palletThreadsStarted(), before + 1);
  });

  it('another thread count, or threads closed, start new threads', async function () {
    const before = palletThreadsStarted();
    await pallet(w.trustAnchors, '2');
    assert.equal(palletThreadsStarted(), before + 1);
    await closePalletThreads();
    await pallet(w.trustAnchors, '2');
    assert.equal(palletThreadsStarted(), before + 2);
  });
  it('pallets started at once share the threads or replace them, and each completes with its own verdicts (regression: a set closed under a pallet that was about to use it left it waiting forever)', async function () {
    const trusted = await pallet(w.trustAnchors, '0');
    const strangers = await pallet([w.fabrikamRoot.der], '0');
    await closePalletThreads();
    const before = palletThreadsStarted();
    const [a, b] = await Promise.all([pallet(w.trustAnchors, '1'), pallet([w.fabrikamRoot.der], '1')]);
    assert.deepEqual([a, b], [trusted, strangers]);
    assert.equal(palletThreadsStarted(), before + 1, 'the two pallets ran on one set of threads');
    // Another thread count while a pallet holds the kept set: a new set, the old one closed once its pallet is done.
    const [c, d] = await Promise.all([pallet(w.trustAnchors, '1'), pallet([w.fabrikamRoot.der], '2')]);
    assert.deepEqual([c, d], [trusted, strangers]);
  });

  it('threads closed under a running pallet: the pallet still completes, this thread verifying what they had not answered', async function () {
    const trusted = await pallet(w.trustAnchors, '0');
    const running = pallet(w.trustAnchors, '1', (warnings) =>
      assert.ok(
        warnings.every((m) => /a verifying thread failed/.test(m)),
        warnings.join('; '),
      ),
    );
    await closePalletThreads();
    assert.deepEqual(await running, trusted);
  });
});
