/**
 * Regression: signature malleability. Anyone who carries a bundle could replace an attestation's s by n - s: the
 * twin verifies as ECDSA, but hashes differently, so that imported first it made a store refuse the real next
 * handoff as a fork. The verifier refuses the twin, in the compact `signature` form and the full `cms` form
 * alike, for being high-S, not as a signature that fails.
 */
import assert from 'node:assert/strict';
import type { Bundle, BundleAttestation } from '../../src/bundle/bundle-model.js';
import { expandShell } from '../../src/bundle/compact-attestation.js';
import { createBundle } from '../../src/bundle/create-bundle.js';
import { encodeBundle } from '../../src/bundle/encode-bundle.js';
import { rebuildAttestation } from '../../src/bundle/rebuild-attestation.js';
import { ecdsaDERToP1363 } from '../../src/crypto/ecdsa-signature.js';
import { openAttestation } from '../../src/verification/open-attestation.js';
import { createVerifier } from '../../src/verification/verifier.js';
import { twinSignatureDER } from '../attestation/high-s-twin.js';
import { AT, makeWorld, provider, sha256hex, type World } from './fixtures.js';

describe('regression: a high-S twin of an attestation (ECDSA signature malleability)', () => {
  let w: World;
  let honest: Bundle;
  let verifier: ReturnType<typeof createVerifier>;

  /** The bundle with attestation `n` replaced by `entry`. */
  const withEntry = (n: number, entry: BundleAttestation): Bundle => ({ ...honest, attestations: honest.attestations.map((a, i) => (i === n ? entry : a)) });
  /** Attestation `n` of the honest bundle with its signature's s replaced by n - s, in the compact or the full form. */
  const twinOf = (n: number, form: 'signature' | 'cms'): BundleAttestation => {
    const a = honest.attestations[n]!;
    const signature = twinSignatureDER(a.signature!);
    if (form === 'signature') return { signer: a.signer, statement: a.statement, signature };
    return { signer: a.signer, statement: a.statement, shell: expandShell(signature, a.statement, honest.certificates[a.signer]!) };
  };

  before(async () => {
    w = await makeWorld();
    honest = createBundle({ certificate: w.device.der, chain: [w.acmeIssuing.der], attestations: w.chain });
    verifier = createVerifier({ trustAnchors: w.trustAnchors, provider, at: AT });
    assert.ok(
      honest.attestations.every((a) => a.signature !== undefined),
      'the world signs in the compact form',
    );
  });

  it('is a real attack: the twin is another attestation whose signature verifies over the same signed attributes', async () => {
    const real = openAttestation(honest.attestations[1]!, honest.certificates);
    const twin = twinOf(1, 'signature');
    const twinDER = rebuildAttestation(twin, honest.certificates);
    assert.notEqual(sha256hex(twinDER), sha256hex(real.der));
    const key = await provider.importPublicKey(real.signerSpki);
    assert.equal(await provider.verify(key, real.signedAttrs, ecdsaDERToP1363(twin.signature!, 'P-256')), true);
    assert.equal((await verifier.verify(encodeBundle(honest))).ok, true, 'the honest bundle verifies');
  });

  for (const form of ['signature', 'cms'] as const) {
    it(`refuses it in the ${form === 'signature' ? 'compact "signature"' : 'full "cms"'} form with ERR_ATTESTATION_HIGH_S, not as a failed signature`, async () => {
      for (const n of [0, 1, 2]) {
        const twin = twinOf(n, form);
        assert.throws(
          () => openAttestation(twin, honest.certificates),
          (e: any) => e.code === 'ERR_ATTESTATION_HIGH_S' && /high S/.test(e.message),
        );
        const r = await verifier.verify(encodeBundle(withEntry(n, twin)));
        assert.equal(r.ok, false, `attestation ${n}: the twin was accepted`);
        if (n === 0) assert.equal(r.code, 'ERR_ATTESTATION_HIGH_S', 'the first failed check is the twin');
        const failed = r.checks.filter((c) => !c.ok);
        // The twin does not open: its check names the low-S rule, and no signature check fails in its stead.
        const opened = failed.find((c) => c.attestation === n && c.name === `attestation ${n}: parse`);
        assert.ok(opened, JSON.stringify(failed));
        assert.equal(opened.code, 'ERR_ATTESTATION_HIGH_S');
        assert.match(opened.reason ?? '', /the signature has a high S \(s > n\/2\); custody accepts only low-S signatures/);
        assert.ok(!failed.some((c) => c.code === 'ERR_VERIFY_SIGNATURE' || c.code === 'ERR_ATTESTATION_SIGNATURE'), JSON.stringify(failed));
      }
    });
  }
});
