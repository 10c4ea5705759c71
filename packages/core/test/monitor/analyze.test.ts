import assert from 'node:assert/strict';
import { createAttestationSigner, signAttestation, type AttestationSigner } from '../../src/attestation/cms.js';
import { birthStatement, signTransfer } from '../../src/custody/chain.js';
import { CertificateFactory } from '../../src/x509/certificate-factory.js';
import { readCertificateInfo } from '../../src/x509/certificate-info.js';
import { attributeText, parseName } from '../../src/validation/name.js';
import { oid, printableString, seq, setOf } from '../../src/asn1/der.js';
import { analyzeChains, type ObservedChain } from '../../src/monitor/analyze.js';
import { toHex } from '../../src/util/bytes.js';
import type { DeviceRecord } from '../../src/registry/ports.js';
import { loadTemplate, makeCA, makeRoot, NOW, provider, type TestCA } from '../x509/fixtures.js';

describe('monitor analysis', () => {
  let root: TestCA;
  let issuing: TestCA;
  let factory: AttestationSigner;
  let integrator: AttestationSigner;
  let reseller: AttestationSigner;
  let buyerA: AttestationSigner;
  let buyerB: AttestationSigner;

  async function party(name: string): Promise<AttestationSigner> {
    const keys = await provider.generateKeyPair('P-256');
    const f = await CertificateFactory.create({
      template: loadTemplate('party'),
      issuer: { certificate: root.info, key: root.keys.privateKey },
      provider,
      notBefore: NOW,
      vars: { organization: name },
    });
    return createAttestationSigner({ certificate: (await f.issue({ spki: keys.publicKey.spki, vars: { name } })).der, key: keys.privateKey, provider });
  }

  async function device(serial: string, spki?: Uint8Array): Promise<DeviceRecord> {
    const keys = await provider.generateKeyPair('P-256');
    const f = await CertificateFactory.create({
      template: loadTemplate('idevid'),
      issuer: { certificate: issuing.info, key: issuing.keys.privateKey },
      provider,
      notBefore: NOW,
      vars: { organization: 'Acme', model: 'X' },
    });
    const cert = (await f.issue({ spki: spki ?? keys.publicKey.spki, vars: { serial } })).der;
    const certSha256 = toHex(await provider.digest('SHA-256', cert));
    const birth = await signAttestation(
      factory,
      birthStatement({ serial, manufacturer: 'Acme', certSha256, signer: factory, to: integrator.spkiSha256, now: NOW }),
      NOW,
    );
    return { serial, certificate: cert, certSerial: '', spkiSha256: '', certSha256, issuer: 'i', issuedAt: '', attestations: [birth] };
  }

  async function extend(
    d: DeviceRecord,
    signer: AttestationSigner,
    to: AttestationSigner,
    kind: 'handoff' | 'activation' = 'handoff',
    at = NOW,
  ): Promise<DeviceRecord> {
    const { der } = await signTransfer({ device: d, kind, signer, to: to.spkiSha256, now: at, provider });
    return { ...d, attestations: [...d.attestations, der] };
  }

  const seen = (d: DeviceRecord, source: string): ObservedChain => ({ source, serial: d.serial, certificate: d.certificate, attestations: d.attestations });

  before(async () => {
    root = await makeRoot();
    issuing = await makeCA('issuing-ca', root, 'Issuing');
    [factory, integrator, reseller, buyerA, buyerB] = await Promise.all(['factory', 'integrator', 'reseller', 'buyer-a', 'buyer-b'].map(party));
  });

  it('reports nothing on clean chains', async () => {
    const d1 = await extend(await extend(await device('C1'), integrator, reseller), reseller, buyerA);
    const d2 = await device('C2');
    assert.deepEqual(await analyzeChains({ chains: [seen(d1, 'store'), seen(d2, 'store'), seen(d1, 'bundle.json')], now: NOW, provider }), []);
  });

  it('finds a double handoff seen in two places', async () => {
    const d = await extend(await device('F1'), integrator, reseller);
    const toA = await extend(d, reseller, buyerA);
    const toB = await extend(d, reseller, buyerB);
    const f = await analyzeChains({ chains: [seen(toA, 'store-a'), seen(toB, 'store-b')], now: NOW, provider });
    assert.deepEqual(
      f.map((x) => x.kind),
      ['fork'],
    );
    assert.deepEqual(f[0]!.sources.sort(), ['store-a', 'store-b']);
  });

  it('finds a cloned key and a cloned serial', async () => {
    const a = await device('K1');
    const spki = readCertificateInfo(a.certificate).spki;
    const b = await device('K2', spki);
    const c = await device('K1');
    const kinds = (await analyzeChains({ chains: [seen(a, 's'), seen(b, 's'), seen(c, 'x')], now: NOW, provider })).map((x) => x.kind).sort();
    assert.deepEqual(kinds, ['clone-key', 'clone-serial']);
  });

  it('finds a handoff after activation', async () => {
    const active = await extend(await device('A1'), integrator, integrator, 'activation');
    // The chain rules refuse this; a forger builds it by hand from the activated chain.
    const { der } = await signTransfer({
      device: { ...active, attestations: active.attestations.slice(0, 1) },
      kind: 'handoff',
      signer: integrator,
      to: reseller.spkiSha256,
      now: NOW,
      provider,
    });
    const forged = { ...active, attestations: [...active.attestations, der] };
    const kinds = (await analyzeChains({ chains: [seen(forged, 's')], now: NOW, provider })).map((x) => x.kind);
    assert.ok(kinds.includes('after-activation'));
  });

  it("does not report the activating owner's handoff after activation (a resale), and reports a second activation", async () => {
    const active = await extend(await device('A2'), integrator, integrator, 'activation');
    const resold = await extend(active, integrator, reseller, 'handoff');
    assert.deepEqual(await analyzeChains({ chains: [seen(resold, 's')], now: NOW, provider }), []);
    // The chain rules refuse a second activation; a forger builds it by hand.
    const { der } = await signTransfer({
      device: { ...active, attestations: active.attestations.slice(0, -1) },
      kind: 'activation',
      signer: integrator,
      to: integrator.spkiSha256,
      now: NOW,
      provider,
    });
    const twice = { ...active, attestations: [...active.attestations, der] };
    assert.ok((await analyzeChains({ chains: [seen(twice, 's')], now: NOW, provider })).some((f) => f.kind === 'after-activation'));
  });

  it("reports a handoff after activation that names the owner as its sender but is not the owner's signature, and the activation after it", async () => {
    const active = await extend(await device('A3'), integrator, integrator, 'activation');
    // Mallory (the reseller here) writes the owner's key as "from" and signs with her own: the statement reads as
    // a resale, the signature is not the owner's.
    const posing = { ...reseller, spkiSha256: integrator.spkiSha256 };
    const { der } = await signTransfer({ device: active, kind: 'handoff', signer: posing, to: reseller.spkiSha256, now: NOW, provider });
    const forged = { ...active, attestations: [...active.attestations, der] };
    const again = await extend(forged, reseller, reseller, 'activation');
    const f = await analyzeChains({ chains: [seen(again, 's')], now: NOW, provider });
    assert.deepEqual(
      f.filter((x) => x.kind === 'after-activation').map((x) => x.message),
      ["attestation 2 (handoff) follows the device's activation", "attestation 3 (activation) follows the device's activation"],
    );
  });

  it('finds an attestation signed after its signer was revoked, and not one signed before', async () => {
    const d = await extend(await device('R1'), integrator, reseller, 'handoff', new Date(NOW.getTime() + 3600_000));
    const info = readCertificateInfo(integrator.certificate);
    const before = await analyzeChains({
      chains: [seen(d, 's')],
      revocations: [{ serialHex: info.serialHex, issuer: parseName(info.issuer), revokedAt: new Date(NOW.getTime() + 7200_000) }],
      now: NOW,
      provider,
    });
    assert.deepEqual(before, []);
    const after = await analyzeChains({
      chains: [seen(d, 's')],
      revocations: [{ serialHex: info.serialHex, issuer: parseName(info.issuer), revokedAt: new Date(NOW.getTime() + 60_000) }],
      now: NOW,
      provider,
    });
    assert.deepEqual(
      after.map((x) => x.kind),
      ['revoked-signer'],
    );
  });

  it('matches a revoked signer by issuer name equality, not display text (a CRL that spells the issuer in PrintableString capitals)', async () => {
    const d = await extend(await device('R2'), integrator, reseller, 'handoff', new Date(NOW.getTime() + 3600_000));
    const info = readCertificateInfo(integrator.certificate);
    const respelled = seq(
      ...parseName(info.issuer).rdns.map((rdn) => setOf(...rdn.map((a) => seq(oid(a.type), printableString(attributeText(a).toUpperCase()))))),
    );
    const issuer = parseName(respelled);
    assert.notEqual(issuer.text, parseName(info.issuer).text);
    const found = await analyzeChains({
      chains: [seen(d, 's')],
      revocations: [{ serialHex: info.serialHex, issuer, revokedAt: new Date(NOW.getTime() + 60_000) }],
      now: NOW,
      provider,
    });
    assert.deepEqual(
      found.map((x) => x.kind),
      ['revoked-signer'],
    );
  });

  it('finds a device held too long, and not an activated one', async () => {
    const held = await device('H1');
    const active = await extend(await device('H2'), integrator, integrator, 'activation');
    const later = new Date(NOW.getTime() + 40 * 86_400_000);
    const f = await analyzeChains({ chains: [seen(held, 's'), seen(active, 's')], now: later, maxHoldSeconds: 30 * 86_400, provider });
    assert.deepEqual(
      f.map((x) => `${x.kind}:${x.device}`),
      ['held-too-long:H1'],
    );
  });
});
