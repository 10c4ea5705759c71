/**
 * `devices import` (ops/bundles.ts) against a hostile carrier: a bundle whose attestation was replaced by its
 * high-S twin (r, n - s) is refused before anything is recorded, and the real chain is taken after it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBundle, encodeBundle, type Bundle, type BundleAttestation } from '@custody/core';
import { EmbeddedStore } from '@custody/store';
import { expandShell } from '../../core/src/bundle/compact-attestation.js';
import { twinSignatureDER } from '../../core/test/attestation/high-s-twin.js';
import { AT, makeWorld, type World } from '../../core/test/verification/fixtures.js';
import { importBundles } from '../src/bundles.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('regression: devices import of a bundle carrying a high-S twin', function () {
  this.timeout(60_000);
  let tmp: string;
  let w: World;
  before(async function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-import-twin-'));
    w = await makeWorld();
  });
  after(function () {
    rmSync(tmp, { recursive: true, force: true });
  });

  const bundleOf = (attestations: readonly Uint8Array[]): Bundle => createBundle({ certificate: w.device.der, chain: [w.acmeIssuing.der], attestations });
  const write = (name: string, b: Bundle): string => {
    const file = join(tmp, name);
    writeFileSync(file, encodeBundle(b));
    return file;
  };
  /** `b` with attestation `n` replaced by its twin, in the compact or the full form. */
  const withTwin = (b: Bundle, n: number, form: 'signature' | 'cms'): Bundle => {
    const a = b.attestations[n]!;
    const signature = twinSignatureDER(a.signature!);
    const twin: BundleAttestation =
      form === 'signature'
        ? { signer: a.signer, statement: a.statement, signature }
        : { signer: a.signer, statement: a.statement, shell: expandShell(signature, a.statement, b.certificates[a.signer]!) };
    return { ...b, attestations: b.attestations.map((x, i) => (i === n ? twin : x)) };
  };

  for (const form of ['signature', 'cms'] as const) {
    it(`refuses the twin in the ${form} form, records nothing, keeps no fork evidence, and takes the real chain after`, async function () {
      const store = await EmbeddedStore.init(join(tmp, form), AT);
      try {
        const serial = 'SN000042';
        assert.deepEqual(
          (await importBundles(store, [write(`${form}-birth.json`, bundleOf(w.chain.slice(0, 1)))], w.trustAnchors, AT)).map((r) => r.outcome),
          ['added'],
        );
        const twinFile = write(`${form}-twin.json`, withTwin(bundleOf(w.chain.slice(0, 2)), 1, form));
        const [refused] = await importBundles(store, [twinFile], w.trustAnchors, AT);
        assert.equal(refused!.outcome, 'refused');
        assert.equal(refused!.code, 'ERR_ATTESTATION_HIGH_S');
        assert.match(refused!.reason!, /attestation 1: parse: .*the signature has a high S/);
        assert.deepEqual((await store.getDevice(serial))!.attestations, w.chain.slice(0, 1));
        assert.deepEqual(await store.listEvidence(), []);
        // The honest next handoff is not a fork: it appends, and the real bundle extends nothing further.
        assert.deepEqual(await store.appendAttestations([{ serial, prev: sha256(w.chain[0]!), attestation: w.chain[1]! }]), [{ serial, ok: true }]);
        const [real] = await importBundles(store, [write(`${form}-real.json`, bundleOf(w.chain))], w.trustAnchors, AT);
        assert.equal(real!.outcome, 'extended', JSON.stringify(real));
        assert.deepEqual((await store.getDevice(serial))!.attestations, w.chain);
        assert.deepEqual(await store.listEvidence(), []);
      } finally {
        await store.close();
      }
    });
  }
});
