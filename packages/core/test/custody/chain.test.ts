import assert from 'node:assert/strict';
import { createAttestationSigner, parseAttestation } from '../../src/attestation/cms.js';
import { birthStatement, chainHead, createBirths, createTransfer, headOfChain, readChainFacts, signTransfer } from '../../src/custody/chain.js';
import { encodeStatement } from '../../src/attestation/statement.js';
import { verifyAttestationSignature } from '../../src/attestation/cms.js';
import { signAttestation, signEncodedStatement } from '../../src/attestation/cms.js';
import { CertificateFactory } from '../../src/x509/certificate-factory.js';
import { toHex } from '../../src/util/bytes.js';
import type { DeviceRecord } from '../../src/registry/ports.js';
import type { AttestationSigner } from '../../src/attestation/cms.js';
import { loadTemplate, makeRoot, NOW, provider } from '../x509/fixtures.js';

async function party(name: string, root: Awaited<ReturnType<typeof makeRoot>>): Promise<AttestationSigner> {
  const keys = await provider.generateKeyPair('P-256');
  const f = await CertificateFactory.create({
    template: loadTemplate('party'),
    issuer: { certificate: root.info, key: root.keys.privateKey },
    provider,
    notBefore: NOW,
    vars: { organization: 'Acme' },
  });
  const { der } = await f.issue({ spki: keys.publicKey.spki, vars: { name } });
  return createAttestationSigner({ certificate: der, key: keys.privateKey, provider });
}

describe('chain of custody', () => {
  let factory: AttestationSigner;
  let integrator: AttestationSigner;
  let reseller: AttestationSigner;
  let device: DeviceRecord;

  before(async () => {
    const root = await makeRoot();
    factory = await party('factory', root);
    integrator = await party('integrator', root);
    reseller = await party('reseller', root);
    const cert = root.info.der; // any DER stands in for the IDevID: only its hash is attested
    const certSha256 = toHex(await provider.digest('SHA-256', cert));
    const birth = await signAttestation(
      factory,
      birthStatement({ serial: 'SN1', manufacturer: 'Acme', certSha256, signer: factory, to: factory.spkiSha256, now: NOW }),
      NOW,
    );
    device = {
      serial: 'SN1',
      certificate: cert,
      certSerial: '01',
      spkiSha256: 'aa',
      certSha256,
      issuer: 'ca',
      issuedAt: NOW.toISOString(),
      attestations: [birth],
    };
  });

  it('names the birth signer as custodian and links each handoff to the one before', async () => {
    const head = await chainHead(device, provider);
    assert.equal(head.custodian, factory.spkiSha256);
    const { der, prev } = await signTransfer({ device, kind: 'handoff', signer: factory, to: integrator.spkiSha256, now: NOW, provider });
    assert.equal(prev, toHex(await provider.digest('SHA-256', device.attestations[0]!)));
    const s = parseAttestation(der).statement;
    assert.equal(s.predicate.seq, 1);
    assert.equal(s.predicate.prev, prev);
    assert.equal(s.predicate.to, integrator.spkiSha256);
    assert.equal(s.subject[0].digest.sha256, device.certSha256);
  });

  it('refuses a handoff by a party that is not the custodian with ERR_NOT_CUSTODIAN', async () => {
    await assert.rejects(signTransfer({ device, kind: 'handoff', signer: reseller, to: reseller.spkiSha256, now: NOW, provider }), {
      code: 'ERR_NOT_CUSTODIAN',
    });
  });

  it("after an activation takes only the owner's handoff (a resale): another activation is ERR_DEVICE_ACTIVATED", async () => {
    const h1 = await signTransfer({ device, kind: 'handoff', signer: factory, to: integrator.spkiSha256, now: NOW, provider });
    const d1 = { ...device, attestations: [...device.attestations, h1.der] };
    await assert.rejects(signTransfer({ device: d1, kind: 'activation', signer: integrator, to: reseller.spkiSha256, now: NOW, provider }), {
      code: 'ERR_ACTIVATION_OWNER',
    });
    const act = await signTransfer({ device: d1, kind: 'activation', signer: integrator, to: integrator.spkiSha256, now: NOW, provider });
    const d2 = { ...d1, attestations: [...d1.attestations, act.der] };
    assert.equal((await chainHead(d2, provider)).activated, true);
    await assert.rejects(signTransfer({ device: d2, kind: 'activation', signer: integrator, to: integrator.spkiSha256, now: NOW, provider }), {
      code: 'ERR_DEVICE_ACTIVATED',
    });
    await assert.rejects(signTransfer({ device: d2, kind: 'handoff', signer: reseller, to: reseller.spkiSha256, now: NOW, provider }), {
      code: 'ERR_NOT_CUSTODIAN',
    });
    const resale = await signTransfer({ device: d2, kind: 'handoff', signer: integrator, to: reseller.spkiSha256, now: NOW, provider });
    const d3 = { ...d2, attestations: [...d2.attestations, resale.der] };
    assert.deepEqual([(await chainHead(d3, provider)).activated, (await chainHead(d3, provider)).custodian], [false, reseller.spkiSha256]);
  });

  it('refuses to extend a device without a birth attestation with ERR_DEVICE_UNBORN', async () => {
    await assert.rejects(
      signTransfer({ device: { ...device, attestations: [] }, kind: 'handoff', signer: factory, to: integrator.spkiSha256, now: NOW, provider }),
      { code: 'ERR_DEVICE_UNBORN' },
    );
  });

  it('signs a batch with one template: each head its own seq, prev and subject, each signature valid', async () => {
    const transfer = createTransfer({ kind: 'handoff', signer: factory, to: integrator.spkiSha256, claims: { secureBoot: { enabled: true } }, now: NOW });
    assert.equal(transfer.sync, true);
    const h1 = await signTransfer({ device, kind: 'handoff', signer: factory, to: integrator.spkiSha256, now: NOW, provider });
    const other = { ...device, serial: 'SN2', attestations: [...device.attestations, h1.der] };
    // A second device whose chain the factory holds again (integrator -> factory).
    const back = await signTransfer({ device: other, kind: 'handoff', signer: integrator, to: factory.spkiSha256, now: NOW, provider });
    const heads = [await chainHead(device, provider), await chainHead({ ...other, attestations: [...other.attestations, back.der] }, provider)];
    for (const head of heads) {
      const { der, prev } = transfer.signSync(head);
      assert.equal(prev, head.lastHash);
      const parsed = parseAttestation(der);
      assert.equal(parsed.statement.predicate.seq, head.length);
      assert.deepEqual(parsed.statement.subject[0], head.subject);
      assert.deepEqual(parsed.statement.predicate.claims, { secureBoot: { enabled: true } });
      await verifyAttestationSignature(parsed, provider);
    }
  });

  it('prepares a transfer for a signature made elsewhere: the same statement and attributes as signSync, a valid attestation', async () => {
    const transfer = createTransfer({ kind: 'handoff', signer: factory, to: integrator.spkiSha256, now: NOW });
    const head = await chainHead(device, provider);
    const { unsigned, prev } = transfer.prepare(head);
    assert.equal(prev, head.lastHash);
    // The signature a worker thread makes: the same key, over toBeSigned.
    const der = unsigned.complete(provider.signSync(factory.key, unsigned.toBeSigned));
    const parsed = parseAttestation(der);
    const direct = parseAttestation(transfer.signSync(head).der);
    assert.deepEqual(parsed.statementBytes, direct.statementBytes);
    assert.deepEqual(parsed.signedAttrs, direct.signedAttrs);
    await verifyAttestationSignature(parsed, provider);
    // A signature by another key completes into an attestation that does not verify; a short one is refused.
    const forged = parseAttestation(unsigned.complete(provider.signSync(integrator.key, unsigned.toBeSigned)));
    await assert.rejects(verifyAttestationSignature(forged, provider), { code: 'ERR_ATTESTATION_SIGNATURE' });
    assert.throws(() => unsigned.complete(new Uint8Array(63)), TypeError);
    assert.throws(() => transfer.prepare({ ...head, custodian: integrator.spkiSha256 }), { code: 'ERR_NOT_CUSTODIAN' });
  });

  it('reads the head of a tip: custodian, activation and subject from the newest statement', async () => {
    const tip = { serial: 'SN1', length: 1, lastHash: toHex(await provider.digest('SHA-256', device.attestations[0]!)), last: device.attestations[0]! };
    const head = headOfChain(tip);
    assert.deepEqual(head, {
      serial: 'SN1',
      length: 1,
      lastHash: tip.lastHash,
      custodian: factory.spkiSha256,
      activated: false,
      subject: { name: 'Acme/SN1', digest: { sha256: device.certSha256 } },
    });
    assert.deepEqual(headOfChain({ serial: 'SN9', length: 0, lastHash: null }), {
      serial: 'SN9',
      length: 0,
      lastHash: null,
      custodian: null,
      activated: false,
      subject: null,
    });
    assert.throws(() => headOfChain({ ...tip, last: new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]) }), { code: 'ERR_ATTESTATION_MALFORMED' });
  });

  it('gives with each transfer what its statement says, the facts a registry keeps beside it: exactly readChainFacts of the DER', async () => {
    const head = await chainHead(device, provider);
    for (const kind of ['handoff', 'activation'] as const) {
      const to = kind === 'activation' ? factory.spkiSha256 : integrator.spkiSha256;
      const transfer = createTransfer({ kind, signer: factory, to, now: NOW });
      const signed = [transfer.signSync(head), await transfer.sign(head)];
      const { unsigned, facts } = transfer.prepare(head);
      signed.push({ der: unsigned.complete(provider.signSync(factory.key, unsigned.toBeSigned)), prev: head.lastHash!, facts });
      for (const s of signed) {
        assert.deepEqual(s.facts, readChainFacts(s.der, 'SN1', 1), kind);
        assert.deepEqual(s.facts, { custodian: to, activated: kind === 'activation', subject: head.subject }, kind);
      }
    }
  });

  it("takes a tip's recorded facts over reading its attestation, and needs no DER with them", async () => {
    const lastHash = toHex(await provider.digest('SHA-256', device.attestations[0]!));
    const facts = { custodian: integrator.spkiSha256, activated: true, subject: { name: 'Other/SN1', digest: { sha256: 'cd'.repeat(32) } } };
    const want = { serial: 'SN1', length: 1, lastHash, ...facts };
    assert.deepEqual(headOfChain({ serial: 'SN1', length: 1, lastHash, facts }), want);
    assert.deepEqual(headOfChain({ serial: 'SN1', length: 1, lastHash, facts, last: device.attestations[0]! }), want);
    assert.deepEqual(headOfChain({ serial: 'SN1', length: 1, lastHash }).subject, null);
    assert.throws(() => readChainFacts(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]), 'SN1', 4), {
      code: 'ERR_ATTESTATION_MALFORMED',
      message: /device SN1: attestation 4/,
    });
  });

  // Issue 17: a statement with two "to" members gave the first custodian to one reader and the last to another.
  it('reads no chain facts from a statement naming a member twice', async () => {
    const text = new TextDecoder().decode(parseAttestation(device.attestations[0]!).statementBytes);
    const twice = new TextEncoder().encode(text.replace('"to":', `"to":"${'e'.repeat(64)}","to":`));
    const der = await signEncodedStatement(factory, twice, NOW);
    assert.throws(() => readChainFacts(der, 'SN1', 0), {
      code: 'ERR_ATTESTATION_MALFORMED',
      message: /device SN1: attestation 0 holds no readable statement \(statement: duplicate member name "to" in predicate\)/,
    });
    const notObject = await signEncodedStatement(factory, new TextEncoder().encode('[]'), NOW);
    assert.throws(() => readChainFacts(notObject, 'SN1', 0), { code: 'ERR_ATTESTATION_MALFORMED' });
  });

  it('signs births of a batch with one template: the statement birthStatement builds, a valid signature', async () => {
    const births = createBirths({ manufacturer: 'Acme', signer: factory, to: integrator.spkiSha256, claims: { secureBoot: { enabled: true } }, now: NOW });
    for (const [serial, certSha256] of [
      ['SN7', device.certSha256],
      ['SN8', 'ab'.repeat(32)],
    ] as const) {
      const parsed = parseAttestation(births.signSync({ serial, certSha256 }));
      const want = encodeStatement(
        birthStatement({
          serial,
          manufacturer: 'Acme',
          certSha256,
          signer: factory,
          to: integrator.spkiSha256,
          claims: { secureBoot: { enabled: true } },
          now: NOW,
        }),
      );
      assert.deepEqual(parsed.statementBytes, want);
      await verifyAttestationSignature(parsed, provider);
    }
    assert.throws(() => createBirths({ manufacturer: 'Acme', signer: factory, to: 'nope', now: NOW }), { code: 'ERR_ATTESTATION_STATEMENT' });
  });
});
