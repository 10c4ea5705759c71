#!/usr/bin/env node
/**
 * Writes the seed corpus of `npm run fuzz` (test/fixtures/fuzz/seeds/<parser>/) from the artifacts of
 * `custody demo --out DIR` and the repository's data files. The seeds are committed, so that a fixed fuzzing
 * seed gives the same inputs on every machine; run this again only to refresh them after a format change.
 *
 *   node packages/cli/bin/run.js demo --out /some/dir && node scripts/fuzz-seeds.mjs /some/dir
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CertificateFactory, createAttestationSigner, createCSR, decodePEM, parseTemplate, readCertificateInfo } from '@custody/core';
import { encodeCodeStatement, signCode, signImaFile } from '@custody/core/code';
import { NodeCryptoProvider } from '@custody/core/node';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SEEDS = join(ROOT, 'test/fixtures/fuzz/seeds');

const demo = process.argv[2];
if (!demo) {
  console.error('usage: node scripts/fuzz-seeds.mjs DEMO_OUT_DIR');
  process.exit(2);
}

const seeds = new Map();
const add = (parser, name, bytes) => {
  if (!seeds.has(parser)) seeds.set(parser, []);
  seeds.get(parser).push([name, typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes)]);
};
const text = (...p) => readFileSync(join(...p), 'utf8');

const party = readdirSync(join(demo, 'parties')).sort()[0];
const device = readdirSync(join(demo, 'devices')).sort()[0];
for (const [name, pem] of [
  ['issuing', text(demo, 'issuing.pem')],
  ['party', text(demo, 'parties', party)],
  ['idevid', text(demo, 'devices', device)],
]) {
  add('certificates', `${name}.der`, decodePEM(pem, ['CERTIFICATE']));
}
add('pem', 'issuing.pem', text(demo, 'issuing.pem'));
add('pem', 'crl.pem', text(demo, 'crl.pem'));
add('crls', 'crl.der', decodePEM(text(demo, 'crl.pem'), ['X509 CRL']));

const serial = readdirSync(join(demo, 'attestations')).sort()[0];
for (const n of ['0', '1']) add('cms', `attestation-${n}.der`, readFileSync(join(demo, 'attestations', serial, `${n}.der`)));

const bundleText = text(demo, 'bundles', `${serial}.json`);
add('bundles', 'bundle.json', bundleText);
const bundle = JSON.parse(bundleText);
add('statements', 'birth.json', JSON.stringify(bundle.attestations[0].statement));
add('statements', 'handoff.json', JSON.stringify(bundle.attestations[1].statement));
add('claims', 'claims.json', JSON.stringify(bundle.attestations[0].statement.predicate.claims ?? {}, null, 2));
add('checkpoints', 'checkpoint.txt', bundle.log.checkpoint);
const logKey = readdirSync(join(demo, 'logs')).sort()[0];
add('checkpoints', 'verifier-key.txt', text(demo, 'logs', logKey).trim());

const challenge = readdirSync(join(demo, 'challenges'))
  .sort()
  .find((f) => f.endsWith('.challenge.json'));
add('challenges', 'challenge.json', readFileSync(join(demo, 'challenges', challenge)));
add('responses', 'response.json', readFileSync(join(demo, 'challenges', challenge.replace('.challenge.', '.response.'))));

const provider = new NodeCryptoProvider();
const { privateKey } = await provider.generateKeyPair('P-256');
add(
  'csrs',
  'device.der',
  await createCSR(
    [
      ['CN', 'fuzz seed'],
      ['serialNumber', 'FUZZ-0001'],
    ],
    privateKey,
    provider,
  ),
);

// Code signatures (issue 24): a CMS code statement and an IMA v2 signature by a code signer under a throwaway
// root; the parsers judge structure, not trust.
{
  const at = new Date('2026-12-01T00:00:00Z');
  const vars = { organization: 'Fuzz Owner', name: 'fuzz-ops' };
  const rootKeys = await provider.generateKeyPair('P-256');
  const rootTemplate = parseTemplate(text(ROOT, 'certs-templates', 'root-ca.yaml'), 'root-ca.yaml');
  const rootFactory = await CertificateFactory.create({ template: rootTemplate, issuer: { key: rootKeys.privateKey }, provider, notBefore: at, vars });
  const root = readCertificateInfo((await rootFactory.issue({ spki: rootKeys.publicKey.spki, vars })).der);
  const template = parseTemplate(text(ROOT, 'certs-templates', 'code-signer.yaml'), 'code-signer.yaml');
  const keys = await provider.generateKeyPair('P-256');
  const factory = await CertificateFactory.create({ template, issuer: { certificate: root, key: rootKeys.privateKey }, provider, notBefore: at, vars });
  const { der: certificate } = await factory.issue({ spki: keys.publicKey.spki, vars });
  const signer = await createAttestationSigner({ certificate, key: keys.privateKey, provider });
  const script = Buffer.from('#!/bin/sh\necho fuzz\n');
  const signed = await signCode(signer, { name: 'fuzz.sh', content: script, type: 'script', version: '1.0', time: new Date('2026-12-06T00:00:00Z') });
  add('code', 'signature.der', signed.der);
  add('code', 'statement.json', encodeCodeStatement(signed.statement));
  add('code', 'ima.sig', await signImaFile(script, keys.privateKey, provider));
}

add('workflows', 'supply-chain.yaml', text(ROOT, 'workflows', 'supply-chain.yaml'));
add('policies', 'healthcare.yaml', text(ROOT, 'workflows', 'policies', 'healthcare.yaml'));
add('codePolicies', 'edge-scripts.yaml', text(ROOT, 'workflows', 'code-policies', 'edge-scripts.yaml'));
add('enrollments', 'enrollment.json', text(demo, 'code', 'device-state', 'enrollment.json'));
for (const t of ['idevid.yaml', 'issuing-ca.yaml']) add('templates', t, text(ROOT, 'certs-templates', t));

// The release seeds (a manifest with its signer's chain, a withdrawal list, an update state) come from a run of
// `firmware release`, `firmware revoke` and `agent update`, not from the demo: kept as they are.
for (const name of readdirSync(join(SEEDS, 'releases')).sort()) add('releases', name, readFileSync(join(SEEDS, 'releases', name)));

rmSync(SEEDS, { recursive: true, force: true });
for (const [parser, list] of seeds) {
  mkdirSync(join(SEEDS, parser), { recursive: true });
  for (const [name, bytes] of list) writeFileSync(join(SEEDS, parser, name), bytes);
}
console.log(`wrote ${[...seeds.values()].flat().length} seeds for ${seeds.size} parsers to ${SEEDS}`);
