/**
 * Revocation as evidence for a policy's `revocationCheck`. It used to hold when, for every certificate of every
 * path, some CRL merely *named* its issuer: a CRL signed by an unrelated key (or with an AKI that made the check
 * skip it as "no CRL supplied") satisfied the policy, and a device its issuer had revoked was accepted by leaving
 * the real CRL out. Now it holds only when a verified CRL of the issuer, current at the verification time,
 * established the status of every certificate below the anchor on the device's path and on every signer's path;
 * a CA that rolled its key over is followed to the key that signed its CRL, through the same trust anchor only.
 */
import assert from 'node:assert/strict';
import { createBundle } from '../../src/bundle/create-bundle.js';
import { encodeBundle } from '../../src/bundle/encode-bundle.js';
import type { VerificationReport } from '../../src/verification/report.js';
import { createVerifier } from '../../src/verification/verifier.js';
import { parsePolicy } from '../../src/workflow/policy.js';
import { AT, makeCRL, makeIssuingCA, makeRollover, makeWorld, provider, type Holder, type World } from './fixtures.js';

const THIS_UPDATE = new Date('2027-01-01T00:00:00Z');
const NEXT_UPDATE = new Date('2027-02-01T00:00:00Z');
const POLICY = parsePolicy('name: revocation-only\nlogInclusion: optional\nproofOfPossession: optional\nrevocationCheck: required\n', 'revocation-only.yaml');

describe('revocation evidence for the policy', () => {
  let w: World;
  let crls: { acmeIssuing: Uint8Array; acmeRoot: Uint8Array; northwind: Uint8Array; contoso: Uint8Array };
  const crl = (ca: Holder, serials: readonly string[] = [], nextUpdate = NEXT_UPDATE) => makeCRL(ca, serials, THIS_UPDATE, nextUpdate);
  const all = () => [crls.acmeIssuing, crls.acmeRoot, crls.northwind, crls.contoso];
  const verify = (chain: readonly Uint8Array[], bundleCRLs: Uint8Array[]): Promise<VerificationReport> =>
    createVerifier({ trustAnchors: w.trustAnchors, provider, at: AT, policy: POLICY }).verify(
      encodeBundle(createBundle({ certificate: w.device.der, chain, attestations: w.chain, crls: bundleCRLs })),
    );
  /** The same, with the CRLs given to the verifier (files, `--crl`) instead of carried in the bundle. */
  const verifyGiven = (chain: readonly Uint8Array[], given: Uint8Array[]): Promise<VerificationReport> =>
    createVerifier({ trustAnchors: w.trustAnchors, provider, at: AT, policy: POLICY, crls: given }).verify(
      encodeBundle(createBundle({ certificate: w.device.der, chain, attestations: w.chain })),
    );
  const revocationCheck = (r: VerificationReport) => r.checks.find((c) => c.name === 'policy: revocationCheck')!;
  const failures = (r: VerificationReport) => JSON.stringify(r.checks.filter((c) => !c.ok));
  /** The CA's name with another key: what anyone can sign a CRL as. */
  async function impostor(ca: Holder, claimIssuerKey: boolean): Promise<Holder> {
    const keys = await provider.generateKeyPair('P-256');
    const ski = claimIssuerKey ? ca.info.subjectKeyId! : new Uint8Array(20).fill(0x5a);
    return { ...ca, keys, info: { ...ca.info, subjectKeyId: ski } };
  }

  before(async () => {
    w = await makeWorld();
    crls = { acmeIssuing: await crl(w.acmeIssuing), acmeRoot: await crl(w.acmeRoot), northwind: await crl(w.northwindRoot), contoso: await crl(w.contosoRoot) };
  });

  it('holds when every certificate of every path (device and signers) has a verified, current CRL of its issuer', async () => {
    const r = await verify([w.acmeIssuing.der], all());
    assert.equal(r.ok, true, failures(r));
    assert.equal(revocationCheck(r).reason, 'certificates were checked against CRLs');
  });

  it("names the issuers whose CRLs are missing, for a signer's path as for the device's (ERR_POLICY_REVOCATION)", async () => {
    const r = await verify([w.acmeIssuing.der], [crls.acmeIssuing, crls.acmeRoot, crls.contoso]);
    assert.equal(r.code, 'ERR_POLICY_REVOCATION', failures(r));
    const reason = revocationCheck(r).reason!;
    assert.ok(reason.includes(`no verified current CRL from "${w.northwindRoot.info.subjectText}" (for "${w.integrator.info.subjectText}")`), reason);
    assert.ok(!reason.includes('Acme'), reason);
    const none = await verify([w.acmeIssuing.der], []);
    for (const ca of [w.acmeIssuing, w.acmeRoot, w.northwindRoot, w.contosoRoot])
      assert.ok(revocationCheck(none).reason!.includes(`"${ca.info.subjectText}"`), ca.info.subjectText);
  });

  it('does not count a CRL naming the issuer but signed by an unrelated key (was: "certificates were checked against CRLs")', async () => {
    const forged = await crl(await impostor(w.northwindRoot, false));
    const r = await verifyGiven([w.acmeIssuing.der], [crls.acmeIssuing, crls.acmeRoot, forged, crls.contoso]);
    assert.equal(r.code, 'ERR_POLICY_REVOCATION', failures(r));
    assert.match(revocationCheck(r).reason!, /no verified current CRL from "[^"]*Northwind Root CA/);
  });

  it('does not accept a device its issuer revoked when the real CRL is left out and a forged one carried (was accepted)', async () => {
    const real = await crl(w.acmeIssuing, [w.device.info.serialHex]);
    const forged = await crl(await impostor(w.acmeIssuing, false));
    const r = await verifyGiven([w.acmeIssuing.der], [forged, crls.acmeRoot, crls.northwind, crls.contoso]);
    assert.equal(r.ok, false);
    assert.equal(r.code, 'ERR_POLICY_REVOCATION', failures(r));
    assert.match(revocationCheck(r).reason!, /no verified current CRL from "[^"]*Acme Issuing CA 1[^"]*" \(for "[^"]*Thermostat T1/);
    assert.equal((await verifyGiven([w.acmeIssuing.der], [real, forged, crls.acmeRoot, crls.northwind, crls.contoso])).code, 'ERR_CHAIN_REVOKED');
  });

  it("fails a CRL that claims the issuer's key and does not verify under it (ERR_CHAIN_CRL)", async () => {
    const forged = await crl(await impostor(w.acmeIssuing, true));
    const r = await verifyGiven([w.acmeIssuing.der], [forged, crls.acmeRoot, crls.northwind, crls.contoso]);
    assert.equal(r.code, 'ERR_CHAIN_CRL', failures(r));
  });

  it('refuses a carried CRL that no CA of the bundle or the anchors signed (ERR_VERIFY_BUNDLE_CRL; was ignored, so its bytes could change)', async () => {
    for (const forged of [await crl(await impostor(w.northwindRoot, false)), await crl(await impostor(w.acmeIssuing, true))]) {
      const r = await verify([w.acmeIssuing.der], [crls.acmeIssuing, crls.acmeRoot, crls.northwind, crls.contoso, forged]);
      assert.equal(r.ok, false);
      assert.ok(
        r.checks.some((c) => c.name === 'bundle: crls' && c.code === 'ERR_VERIFY_BUNDLE_CRL'),
        failures(r),
      );
    }
    const flipped = Uint8Array.from(crls.contoso);
    flipped[flipped.length - 5] ^= 1;
    assert.equal((await verify([w.acmeIssuing.der], [crls.acmeIssuing, crls.acmeRoot, crls.northwind, flipped])).ok, false);
  });

  it('fails a CRL past its nextUpdate (ERR_CHAIN_CRL): a stale CRL is no evidence', async () => {
    const stale = await crl(w.northwindRoot, [], new Date('2027-01-10T00:00:00Z'));
    const r = await verify([w.acmeIssuing.der], [crls.acmeIssuing, crls.acmeRoot, stale, crls.contoso]);
    assert.equal(r.code, 'ERR_CHAIN_CRL', failures(r));
  });

  describe('CA key rollover (RFC 5280 6.3.3, NewWithOld)', () => {
    let acmeIssuingNew: Holder;
    let northwindNew: Holder;
    before(async () => {
      acmeIssuingNew = await makeRollover(w.acmeIssuing, 'Acme Devices', 'Acme Issuing CA 1');
      northwindNew = await makeRollover(w.northwindRoot, 'Northwind Integration', 'Northwind Root CA');
    });

    it('establishes revocation from CRLs signed by the new keys for certificates issued under the old ones', async () => {
      const r = await verify(
        [w.acmeIssuing.der, acmeIssuingNew.der, northwindNew.der],
        [await crl(acmeIssuingNew), crls.acmeRoot, await crl(northwindNew), crls.contoso],
      );
      assert.equal(r.ok, true, failures(r));
      assert.equal(revocationCheck(r).reason, 'certificates were checked against CRLs');
    });

    it('does not count those CRLs when no rollover certificate reaches the new key (ERR_POLICY_REVOCATION, was every valid path failing)', async () => {
      const r = await verifyGiven([w.acmeIssuing.der], [await crl(acmeIssuingNew), crls.acmeRoot, await crl(northwindNew), crls.contoso]);
      assert.equal(r.code, 'ERR_POLICY_REVOCATION', failures(r));
      const reason = revocationCheck(r).reason!;
      assert.match(reason, /Acme Issuing CA 1/);
      assert.match(reason, /Northwind Root CA/);
    });

    it('rejects a revoked device, and a revoked signer, through a CRL signed by the new key (ERR_CHAIN_REVOKED)', async () => {
      const chain = [w.acmeIssuing.der, acmeIssuingNew.der, northwindNew.der];
      const device = await verify(chain, [await crl(acmeIssuingNew, [w.device.info.serialHex]), crls.acmeRoot, await crl(northwindNew), crls.contoso]);
      assert.equal(device.code, 'ERR_CHAIN_REVOKED', failures(device));
      assert.equal(device.checks.find((c) => c.name === 'device: certificate path')!.code, 'ERR_CHAIN_REVOKED');
      const signer = await verify(chain, [await crl(acmeIssuingNew), crls.acmeRoot, await crl(northwindNew, [w.integrator.info.serialHex]), crls.contoso]);
      assert.equal(signer.code, 'ERR_CHAIN_REVOKED', failures(signer));
      assert.equal(signer.checks.find((c) => c.name === 'attestation 1: signer revocation')!.code, 'ERR_CHAIN_REVOKED');
    });

    it("does not accept a CRL signed by a key certified under another trust anchor, with the issuer's name", async () => {
      // Contoso is trusted (for its own party); it certifies a key under Acme's issuing CA name.
      const lookalike = await makeIssuingCA(w.contosoRoot, 'Acme Devices', 'Acme Issuing CA 1');
      const chain = [w.acmeIssuing.der, lookalike.der];
      const r = await verify(chain, [await crl(lookalike), crls.acmeRoot, crls.northwind, crls.contoso]);
      assert.equal(r.code, 'ERR_POLICY_REVOCATION', failures(r));
      assert.match(revocationCheck(r).reason!, /no verified current CRL from "[^"]*Acme Issuing CA 1/);
      const revokedElsewhere = await verify(chain, [await crl(lookalike, [w.device.info.serialHex]), crls.acmeRoot, crls.northwind, crls.contoso]);
      assert.equal(revokedElsewhere.code, 'ERR_POLICY_REVOCATION', 'its entries do not count either');
    });
  });
});
