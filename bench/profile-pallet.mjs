#!/usr/bin/env node
/**
 * A pallet as the bench verifies it (bench/figures.mjs palletFigures), for profiling with `node --cpu-prof`:
 * `node --cpu-prof --cpu-prof-dir=DIR bench/profile-pallet.mjs [N]` (one profile per thread).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { palletRun, verifyMaterial } from './figures.mjs';

const n = Number(process.argv[2] ?? 10000);
const tmp = mkdtempSync(join(tmpdir(), 'custody-pallet-'));
try {
  const run = await palletRun(n, tmp, await verifyMaterial(n));
  await run();
  const t0 = performance.now();
  const verdicts = await run();
  const ms = performance.now() - t0;
  if (!verdicts.every((v) => v.report.ok)) throw new Error('a pallet bundle was rejected');
  console.log(`${n} bundles in ${ms.toFixed(0)} ms: ${((n * 1000) / ms).toFixed(0)}/s`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
