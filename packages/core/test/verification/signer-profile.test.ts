/**
 * Who may sign custody attestations. Before these rules the path validator's general RFC 5280 EKU rule let a
 * leaf with no extKeyUsage pass the custody EKU, so a device's IDevID signed whole chains when no workflow was
 * given; CAs, certificates without keyUsage and trust anchors themselves fared little better.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { OID } from '../../src/asn1/oids.js';
import { createAttestationSigner } from '../../src/attestation/cms.js';
import { createBundle } from '../../src/bundle/create-bundle.js';
import { encodeBundle } from '../../src/bundle/encode-bundle.js';
import { parseCertificate } from '../../src/validation/certificate.js';
import { attestationSignerProblem } from '../../src/verification/signer-profile.js';
import { createVerifier, type VerifierOptions } from '../../src/verification/verifier.js';
import { parseWorkflow } from '../../src/workflow/workflow.js';
import { AT, makeDevice, makeSignerFrom, makeWorld, provider, sha256hex, signChain, standardSteps, type Holder, type Party, type World } from './fixtures.js';

const bundleText = (device: Holder, chain: readonly Uint8Array[], attestations: readonly Uint8Array[]): string =>
  encodeBundle(createBundle({ certificate: device.der, chain, attestations }));

/** A Holder's key and certificate as an attestation signer (whatever the certificate is). */
async function asSigner(h: Holder): Promise<Party> {
  const signer = await createAttestationSigner({ certificate: h.der, key: h.keys.privateKey, provider });
  return { ...h, signer, spkiSha256: signer.spkiSha256 };
}

describe('attestation signer profile', () => {
  let w: World;
  const make = (more: Partial<VerifierOptions> = {}) => createVerifier({ trustAnchors: w.trustAnchors, provider, at: AT, ...more });
  const workflow = () => ({
    workflow: parseWorkflow(readFileSync(new URL('../../../../workflows/supply-chain.yaml', import.meta.url), 'utf8'), 'supply-chain.yaml'),
    trust: {
      cas: {
        manufacturer: { subjectDN: '', certSha256: sha256hex(w.acmeIssuing.der) },
        integrator: { subjectDN: '', certSha256: sha256hex(w.northwindRoot.der) },
        reseller: { subjectDN: '', certSha256: sha256hex(w.contosoRoot.der) },
        customer: { subjectDN: '', certSha256: sha256hex(w.fabrikamRoot.der) },
      },
    },
  });

  /** The standard chain with the birth signed by `birthSigner`; the bundle carries `extra` CA certificates too. */
  async function withBirthSigner(birthSigner: Party, extra: Uint8Array[] = []): Promise<string> {
    const steps = standardSteps(w);
    steps[0] = { ...steps[0]!, signer: birthSigner };
    return bundleText(w.device, [w.acmeIssuing.der, ...extra], await signChain(w.device, steps));
  }

  async function expectSignerCode(text: string, code: string, v = make()): Promise<string> {
    const r = await v.verify(text);
    assert.equal(r.ok, false, 'must be rejected');
    const signer = r.checks.find((c) => c.name === 'attestation 0: signer');
    assert.ok(signer && !signer.ok, JSON.stringify(r.checks.filter((c) => !c.ok)));
    assert.equal(signer.code, code, signer.reason);
    assert.equal(r.code, code);
    return signer.reason!;
  }

  before(async () => {
    w = await makeWorld();
  });

  it('still accepts the party template (custody EKU, keyUsage digitalSignature)', async () => {
    assert.equal(attestationSignerProblem(parseCertificate(w.factory.der)), undefined);
    const r = await make().verify(bundleText(w.device, [w.acmeIssuing.der], w.chain));
    assert.equal(r.ok, true, JSON.stringify(r.checks.filter((c) => !c.ok)));
  });

  it("refuses the device's own IDevID as the signer of its attestations, with or without a workflow (ERR_VERIFY_SIGNER_DEVICE)", async () => {
    const own = await asSigner(w.device);
    const text = await withBirthSigner(own);
    const reason = await expectSignerCode(text, 'ERR_VERIFY_SIGNER_DEVICE');
    assert.match(reason, /device identity/);
    await expectSignerCode(text, 'ERR_VERIFY_SIGNER_DEVICE', make({ workflow: workflow() }));
  });

  it("refuses another device's IDevID, one key extracted from one device signing for others (ERR_VERIFY_SIGNER_DEVICE)", async () => {
    const other = await asSigner(await makeDevice(w.acmeIssuing, 'SN000777'));
    await expectSignerCode(await withBirthSigner(other), 'ERR_VERIFY_SIGNER_DEVICE');
    await expectSignerCode(await withBirthSigner(other), 'ERR_VERIFY_SIGNER_DEVICE', make({ workflow: workflow() }));
  });

  it('refuses a leaf without extKeyUsage, which RFC 5280 alone would let pass a required EKU (ERR_VERIFY_SIGNER_EKU)', async () => {
    const noEku = await makeSignerFrom(w.acmeIssuing, 'Acme Line Key', (t) => {
      const { extendedKeyUsage: _, ...rest } = t;
      return rest;
    });
    const reason = await expectSignerCode(await withBirthSigner(noEku), 'ERR_VERIFY_SIGNER_EKU');
    assert.match(reason, /no extendedKeyUsage/);
  });

  it('does not count anyExtendedKeyUsage, nor another purpose, as the custody EKU (ERR_VERIFY_SIGNER_EKU)', async () => {
    const any = await makeSignerFrom(w.acmeIssuing, 'Acme Any Purpose', (t) => ({
      ...t,
      extendedKeyUsage: { oids: [OID.anyExtendedKeyUsage], critical: false },
    }));
    assert.match(await expectSignerCode(await withBirthSigner(any), 'ERR_VERIFY_SIGNER_EKU'), /anyExtendedKeyUsage does not count/);
    const tls = await makeSignerFrom(w.acmeIssuing, 'Acme TLS Client', (t) => ({ ...t, extendedKeyUsage: { oids: [OID.clientAuth], critical: false } }));
    await expectSignerCode(await withBirthSigner(tls), 'ERR_VERIFY_SIGNER_EKU');
    const both = await makeSignerFrom(w.acmeIssuing, 'Acme Both', (t) => ({
      ...t,
      extendedKeyUsage: { oids: [OID.anyExtendedKeyUsage, OID.custodyAttestation], critical: false },
    }));
    assert.equal(attestationSignerProblem(parseCertificate(both.der)), undefined, 'the custody EKU listed next to anyExtendedKeyUsage is fine');
  });

  it('refuses a signer without a keyUsage extension, or one without digitalSignature (ERR_VERIFY_SIGNER_KEY_USAGE)', async () => {
    const noKu = await makeSignerFrom(w.acmeIssuing, 'Acme No Key Usage', (t) => {
      const { keyUsage: _, ...rest } = t;
      return rest;
    });
    assert.match(await expectSignerCode(await withBirthSigner(noKu), 'ERR_VERIFY_SIGNER_KEY_USAGE'), /no keyUsage extension/);
    const nonRep = await makeSignerFrom(w.acmeIssuing, 'Acme Non Repudiation', (t) => ({ ...t, keyUsage: { usages: ['nonRepudiation'], critical: true } }));
    await expectSignerCode(await withBirthSigner(nonRep), 'ERR_VERIFY_SIGNER_KEY_USAGE');
  });

  it('refuses a CA key as an attestation signer, even one carrying the custody EKU (ERR_VERIFY_SIGNER_CA)', async () => {
    await expectSignerCode(await withBirthSigner(await asSigner(w.acmeIssuing)), 'ERR_VERIFY_SIGNER_CA');
    const caWithEku = await makeSignerFrom(w.acmeRoot, 'Acme Signing CA', (t) => ({
      ...t,
      basicConstraints: { ca: true, critical: true },
      keyUsage: { usages: ['digitalSignature', 'keyCertSign'], critical: true },
    }));
    await expectSignerCode(await withBirthSigner(caWithEku, [caWithEku.der]), 'ERR_VERIFY_SIGNER_CA');
  });

  it('refuses a trust anchor as an attestation signer, saying so (ERR_CHAIN_LEAF_IS_ANCHOR, was ERR_VERIFY_SIGNER / no path)', async () => {
    const reason = await expectSignerCode(await withBirthSigner(await asSigner(w.acmeRoot)), 'ERR_CHAIN_LEAF_IS_ANCHOR');
    assert.match(reason, /is itself a trust anchor; a trust anchor cannot be an attestation signer/);
  });

  it('refuses a trust anchor as the device certificate, saying so (ERR_CHAIN_LEAF_IS_ANCHOR, was ERR_CHAIN_NO_PATH)', async () => {
    const r = await make().verify(bundleText(w.acmeRoot, [], w.chain));
    assert.equal(r.ok, false);
    const path = r.checks.find((c) => c.name === 'device: certificate path')!;
    assert.equal(path.code, 'ERR_CHAIN_LEAF_IS_ANCHOR', path.reason);
    assert.match(path.reason!, /is itself a trust anchor/);
  });

  it('names each problem without a path: the pure check the CLI reuses for handoff recipients and imports', async () => {
    assert.equal(attestationSignerProblem(parseCertificate(w.device.der))?.code, 'ERR_VERIFY_SIGNER_DEVICE');
    assert.equal(attestationSignerProblem(parseCertificate(w.acmeRoot.der))?.code, 'ERR_VERIFY_SIGNER_CA');
    assert.equal(attestationSignerProblem(parseCertificate(w.acmeIssuing.der))?.code, 'ERR_VERIFY_SIGNER_CA');
    for (const p of [w.factory, w.integrator, w.reseller, w.customer]) assert.equal(attestationSignerProblem(parseCertificate(p.der)), undefined);
  });
});
