#!/usr/bin/env node
/**
 * Profiles bundle verification on one thread (CPU profile of the verifications only), the bench's bundles and
 * verifier: `node bench/profile-verify.mjs [N]`. Prints the self time per function in µs per bundle and writes
 * bench/out-verify.cpuprofile.
 */
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { createVerifier } from '@custody/core';
import { NodeCryptoProvider } from '@custody/core/node';
import { verifyMaterial } from './figures.mjs';

const n = Number(process.argv[2] ?? 5000);
const { rootDer, texts, at } = await verifyMaterial(n);
const verifier = createVerifier({ trustAnchors: [rootDer], provider: new NodeCryptoProvider(), at });
// Warm: the caches a pallet fills once (party paths, keys, the issuing CA) and the JIT.
for (let i = 0; i < Math.min(n, 1000); i++) await verifier.verify(texts[i % texts.length]);
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 100 });
await session.post('Profiler.start');
const t0 = performance.now();
for (let i = 0; i < n; i++) {
  const r = await verifier.verify(texts[i % texts.length]);
  if (!r.ok) throw new Error(`bench bundle rejected: ${r.code}`);
}
const ms = performance.now() - t0;
const { profile } = await session.post('Profiler.stop');
writeFileSync('bench/out-verify.cpuprofile', JSON.stringify(profile));
const self = new Map();
const byId = new Map(profile.nodes.map((x) => [x.id, x]));
profile.samples.forEach((id, i) => {
  const f = byId.get(id).callFrame;
  const k = `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber}`;
  self.set(k, (self.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
console.log(`${n} bundles in ${ms.toFixed(0)} ms: ${((ms * 1000) / n).toFixed(0)} µs/bundle`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log((v / n).toFixed(1).padStart(8), 'µs/bundle', k);
