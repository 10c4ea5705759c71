#!/usr/bin/env node
/**
 * A pallet as the bench verifies it (bench/figures.mjs palletFigures), for profiling with `node --cpu-prof`:
 * `node --cpu-prof --cpu-prof-dir=DIR bench/profile-pallet.mjs [N]` (one profile per thread).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePEM } from '@custody/core';
import { verifyBundles } from '@custody/app/verify';
import { verifyMaterial } from './figures.mjs';

const n = Number(process.argv[2] ?? 10000);
const material = await verifyMaterial(n);
const tmp = mkdtempSync(join(tmpdir(), 'custody-pallet-'));
try {
  const dir = join(tmp, 'pallet');
  mkdirSync(dir);
  const files = [];
  for (let i = 0; i < n; i++) {
    const file = join(dir, `B${String(i).padStart(6, '0')}.json`);
    writeFileSync(file, material.texts[i % material.texts.length]);
    files.push(file);
  }
  const rootFile = join(tmp, 'pallet-root.pem');
  writeFileSync(rootFile, encodePEM(material.rootDer, 'CERTIFICATE'));
  const run = () => verifyBundles(undefined, { bundles: files, trust: [rootFile], cas: [], crls: [], at: material.at });
  await run();
  const t0 = performance.now();
  const verdicts = await run();
  const ms = performance.now() - t0;
  if (!verdicts.every((v) => v.report.ok)) throw new Error('a pallet bundle was rejected');
  console.log(`${n} bundles in ${ms.toFixed(0)} ms: ${((n * 1000) / ms).toFixed(0)}/s`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
