#!/usr/bin/env node
/**
 * Profiles one batch (CPU profile of the batch only):
 *   node bench/profile-provision.mjs [N] [provision|handoff|folder]
 */
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { profileTarget, profileHandoff } from './figures.mjs';
import { folderBatch } from './folder.mjs';

const n = Number(process.argv[2] ?? 3000);
const mode = process.argv[3] ?? 'provision';
const { run } =
  mode === 'handoff'
    ? await profileHandoff(n)
    : mode === 'folder'
      ? await folderBatch(n, mkdtempSync(join(tmpdir(), 'custody-prof-')))
      : await profileTarget(n);
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.start');
const t0 = performance.now();
await run();
const ms = performance.now() - t0;
const { profile } = await session.post('Profiler.stop');
writeFileSync('bench/out-provision.cpuprofile', JSON.stringify(profile));
const self = new Map();
const byId = new Map(profile.nodes.map((x) => [x.id, x]));
profile.samples.forEach((id, i) => {
  const f = byId.get(id).callFrame;
  const k = `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber}`;
  self.set(k, (self.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
console.log(`${n} devices in ${ms.toFixed(0)} ms: ${((ms * 1000) / n).toFixed(0)} us/device`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(((v / 1000 / n) * 1000).toFixed(1).padStart(8), 'us/dev', k);
