#!/usr/bin/env node
/**
 * verify.bundlesPerSec against native.bundlePerSec alone, alternating the two a few times in one process, for
 * comparing verifier changes quickly: `node bench/verify-ratio.mjs [N] [ROUNDS]`.
 */
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { createVerifier } from '@custody/core';
import { NodeCryptoProvider } from '@custody/core/node';
import { verifyMaterial } from './figures.mjs';

const n = Number(process.argv[2] ?? 5000);
const rounds = Number(process.argv[3] ?? 5);
const { rootDer, texts, at } = await verifyMaterial(n);
const verifier = createVerifier({ trustAnchors: [rootDer], provider: new NodeCryptoProvider(), at });
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const data = Buffer.alloc(300, 7);
const sig = sign('sha256', data, privateKey);
const ratios = [];
for (let r = 0; r < rounds; r++) {
  let t = performance.now();
  for (let i = 0; i < n; i++) for (let j = 0; j < 4; j++) verify('sha256', data, publicKey, sig);
  const native = n / ((performance.now() - t) / 1000);
  t = performance.now();
  for (let i = 0; i < n; i++) {
    const v = await verifier.verify(texts[i % texts.length]);
    if (!v.ok) throw new Error(`bench bundle rejected: ${v.code}`);
  }
  const ours = n / ((performance.now() - t) / 1000);
  ratios.push(ours / native);
  console.log(`native ${native.toFixed(0)}/s, verify ${ours.toFixed(0)}/s, ratio ${(ours / native).toFixed(3)}`);
}
console.log(`median ratio ${[...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)].toFixed(3)}`);
