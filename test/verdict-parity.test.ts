/**
 * One verifier: the library (`createVerifier(...).verify`) and the CLI (`custody devices verify --json`) give the
 * same verdict and the same first failed check for every bundle of a tamper suite built from the demo's bundles:
 * changed bytes all over the text, attestations dropped, repeated, swapped and spliced from another device,
 * certificates dropped or swapped, log proofs edited, members duplicated. Nothing of the suite is accepted.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVerifier, decodePEMAll, parsePolicy, parseVerifierKey, parseWorkflow, toHex, parseCertificate, type VerificationReport } from '@custody/core';
import { NodeCryptoProvider } from '@custody/core/node';
import { custodyJSON } from './e2e-helpers.js';

const provider = new NodeCryptoProvider();
const REPO = new URL('../', import.meta.url).pathname;

/** Named variants of a bundle text, each of which a verifier must reject. */
export function tamperSuite(text: string, other: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const positions = 48;
  for (let k = 0; k < positions; k++) {
    const pos = Math.floor(((k + 0.5) * text.length) / positions);
    const c = text[pos]!;
    const swap = c === 'A' ? 'B' : c === '0' ? '1' : c === 'a' ? 'b' : c === '"' ? "'" : 'A';
    out.push([`byte-${pos}`, text.slice(0, pos) + swap + text.slice(pos + 1)]);
  }
  const j = JSON.parse(text);
  const o = JSON.parse(other);
  const variant = (name: string, f: (x: any) => void) => {
    // eslint-disable-line @typescript-eslint/no-explicit-any
    const x = structuredClone(j);
    f(x);
    out.push([name, JSON.stringify(x)]);
  };
  const n = j.attestations.length as number;
  for (let i = 0; i < n; i++) variant(`drop-${i}`, (x) => x.attestations.splice(i, 1));
  for (let i = 0; i < n; i++) variant(`repeat-${i}`, (x) => x.attestations.splice(i, 0, structuredClone(x.attestations[i])));
  for (let i = 0; i + 1 < n; i++) variant(`swap-${i}`, (x) => ([x.attestations[i], x.attestations[i + 1]] = [x.attestations[i + 1], x.attestations[i]]));
  for (let i = 0; i < n; i++) variant(`splice-${i}`, (x) => (x.attestations[i] = o.attestations[i]));
  variant('device-of-another', (x) => (x.certificates[0] = o.certificates[0]));
  variant('chain-dropped', (x) => x.certificates.splice(1, 1));
  if (j.log) {
    variant('log-proof-hash', (x) => (x.log.proofs[0].hashes[0] = (x.log.proofs[0].hashes[0][0] === 'A' ? 'B' : 'A') + x.log.proofs[0].hashes[0].slice(1)));
    variant('log-proof-moved', (x) => (x.log.proofs[1].leafIndex += 1));
    variant('log-checkpoint-of-another', (x) => (x.log = o.log));
  }
  // A member named twice: a reader keeping the first value sees another recipient than the one signed.
  const to = j.attestations[n - 1].statement.predicate.to as string;
  out.push(['duplicate-to', text.replace(`"to":"${to}"`, `"to":"${'0'.repeat(64)}","to":"${to}"`)]);
  return out;
}

describe('one verifier: the library and the CLI agree on a tamper suite', function () {
  this.timeout(300_000);
  let tmp: string;
  let demo: string;

  before(function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-parity-'));
    demo = join(tmp, 'demo');
    const r = custodyJSON(['demo', '--out', demo], { cwd: tmp });
    assert.equal(r.status, 0, r.stderr + r.stdout);
  });
  after(function () {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('gives the same verdict and first failed check, and rejects every tampered bundle', async function () {
    const bundles = readdirSync(join(demo, 'bundles')).sort();
    const [a, b] = [readFileSync(join(demo, 'bundles', bundles[0]!), 'utf8'), readFileSync(join(demo, 'bundles', bundles[1]!), 'utf8')];
    const suite = join(tmp, 'suite');
    mkdirSync(suite);
    const variants = [['original', a] as [string, string], ...tamperSuite(a, b)];
    for (const [name, text] of variants) writeFileSync(join(suite, `${name}.json`), text);

    const cas: Array<[string, string]> = [
      ['manufacturer', 'manufacturer.pem'],
      ['integrator', 'integrator.pem'],
      ['reseller', 'reseller.pem'],
      ['customer', 'customer.pem'],
    ];
    const crls = [
      join(demo, 'crl.pem'),
      ...readdirSync(join(demo, 'roots'))
        .filter((f) => f.endsWith('.crl.pem'))
        .map((f) => join(demo, 'roots', f)),
    ];
    const logKey = join(demo, 'logs', 'reseller.pub');
    const workflowFile = join(REPO, 'workflows', 'supply-chain.yaml');
    const at = new Date(Math.floor(Date.now() / 1000) * 1000);
    const args = [
      'devices',
      'verify',
      '--bundle',
      suite,
      ...cas.flatMap(([n, f]) => ['--ca', `${n}=${join(demo, 'roots', f)}`]),
      '--workflow',
      workflowFile,
      '--policy',
      'retail',
      ...crls.flatMap((f) => ['--crl', f]),
      '--log-key',
      logKey,
      '--at',
      at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      '--json',
    ];
    const cli = custodyJSON(args, { cwd: tmp });
    assert.ok(cli.json, cli.stderr);
    // The same pallet on worker threads, which get the workflow, policy, CRLs and log keys this thread parsed as
    // data: the same report, byte for byte, for every bundle.
    const threaded = custodyJSON(args, { cwd: tmp, env: { CUSTODY_THREADS: '2' } });
    assert.doesNotMatch(threaded.stderr, /warning/, 'every verifying thread answered');
    assert.deepEqual(threaded.json, cli.json);

    // The library, from the same files, with nothing of the CLI's code.
    const anchors = cas.map(([, f]) => decodePEMAll(readFileSync(join(demo, 'roots', f), 'utf8'), ['CERTIFICATE'])[0]!);
    const trustCAs = Object.fromEntries(
      cas.map(([n], i) => [n, { subjectDN: parseCertificate(anchors[i]!).subject.text, certSha256: toHex(provider.digestSync('SHA-256', anchors[i]!)) }]),
    );
    const verifier = createVerifier({
      trustAnchors: anchors,
      provider,
      workflow: { workflow: parseWorkflow(readFileSync(workflowFile, 'utf8'), workflowFile), trust: { cas: trustCAs } },
      policy: parsePolicy(readFileSync(join(REPO, 'workflows', 'policies', 'retail.yaml'), 'utf8'), 'retail.yaml'),
      crls: crls.map((f) => decodePEMAll(readFileSync(f, 'utf8'), ['X509 CRL'])[0]!),
      logKeys: [parseVerifierKey(readFileSync(logKey, 'utf8').trim())],
      at,
    });
    const byFile = new Map<string, VerificationReport>(
      (cli.json.data.results as Array<VerificationReport & { file: string }>).map((r) => [r.file.replace(/^.*\//, ''), r]),
    );
    const firstFailed = (r: VerificationReport) => r.checks.find((c) => !c.ok);
    for (const [name, text] of variants) {
      const lib = await verifier.verify(text);
      const fromCLI = byFile.get(`${name}.json`);
      assert.ok(fromCLI, `the CLI gave no verdict for ${name}`);
      assert.equal(fromCLI.ok, lib.ok, `${name}: CLI ${fromCLI.code}, library ${lib.code}`);
      assert.equal(fromCLI.code, lib.code, name);
      assert.equal(firstFailed(fromCLI)?.name, firstFailed(lib)?.name, name);
      if (name === 'original') assert.equal(lib.ok, true, JSON.stringify(firstFailed(lib)));
      else assert.equal(lib.ok, false, `${name} was accepted`);
    }
  });
});
