/**
 * Seeded mutation test of the DER parsers (certificate, CSR, CRL, Name, the CMS attestation) and the PEM reader: a few thousand
 * mutated inputs (test/fuzz/mutate.ts) each; only CustodyError may escape, no input may take long, and nothing
 * custody accepts may be malformed DER to asn1js/pkijs.
 */
import assert from 'node:assert/strict';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { CustodyError } from '../../src/errors.js';
import { parseCertificate } from '../../src/validation/certificate.js';
import { parseCRL } from '../../src/validation/crl.js';
import { parseName } from '../../src/validation/name.js';
import { parseCSR } from '../../src/x509/csr.js';
import { encodePEM, readPEMBlocks } from '../../src/x509/pem.js';
import { createAttestationSigner, parseAttestation, signAttestationSync } from '../../src/attestation/cms.js';
import { createStatement } from '../../src/attestation/statement.js';
import { NodeCryptoProvider } from '../../src/crypto/node-provider.js';
import { createTestPki } from '../attestation/pki.js';
import { writtenByCustody, type Written } from '../x509/written.js';
import { mutations } from './mutate.js';

const SEED = 0x5eed_0019;
const PER_INPUT = 500;
/** Generous (the machine is shared): a parse of a mutated input takes tens of microseconds. */
const SLOW_MS = 500;

interface Target {
  name: string;
  inputs: Uint8Array[];
  parse: (b: Uint8Array) => unknown;
  /** Throws when asn1js/pkijs refuse the bytes. */
  reference: (b: Uint8Array) => void;
}

function asn1Whole(b: Uint8Array): asn1js.AsnType {
  const r = asn1js.fromBER(b);
  if (r.offset === -1 || r.offset !== b.length || r.result.error) throw new Error(`asn1js: ${r.result.error || 'trailing bytes'}`);
  return r.result;
}

function run(t: Target): { accepted: number; total: number; kinds: Map<string, number> } {
  let accepted = 0;
  let total = 0;
  const kinds = new Map<string, number>();
  t.inputs.forEach((input, k) => {
    for (const m of mutations(SEED + k, input, PER_INPUT)) {
      total++;
      const t0 = performance.now();
      let ok = false;
      try {
        t.parse(m.bytes);
        ok = true;
      } catch (e) {
        if (!(e instanceof CustodyError))
          assert.fail(
            `${t.name} (${m.kind}) threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}\n${Buffer.from(m.bytes).toString('hex').slice(0, 400)}`,
          );
      }
      const ms = performance.now() - t0;
      assert.ok(ms < SLOW_MS, `${t.name} (${m.kind}) took ${ms.toFixed(1)} ms on a ${m.bytes.length}-byte input`);
      if (ok) {
        accepted++;
        kinds.set(m.kind, (kinds.get(m.kind) ?? 0) + 1);
        try {
          t.reference(m.bytes);
        } catch (e) {
          assert.fail(
            `${t.name} accepted (${m.kind}) what asn1js/pkijs refuse: ${(e as Error).message}\n${Buffer.from(m.bytes).toString('hex').slice(0, 400)}`,
          );
        }
      }
    }
  });
  return { accepted, total, kinds };
}

describe('parsers under seeded mutation', function () {
  this.timeout(60_000);
  let w: Written;
  before(async () => {
    w = await writtenByCustody();
  });

  it('parseCertificate: only CustodyError, fast, nothing malformed accepted', () => {
    const r = run({
      name: 'parseCertificate',
      inputs: w.certificates.map(([, d]) => d),
      parse: parseCertificate,
      reference: (b) => void pkijs.Certificate.fromBER(b),
    });
    assert.ok(r.total >= 2500);
  });

  it('parseCSR: only CustodyError, fast, nothing malformed accepted', () => {
    const r = run({ name: 'parseCSR', inputs: w.csrs.map(([, d]) => d), parse: parseCSR, reference: (b) => void pkijs.CertificationRequest.fromBER(b) });
    assert.ok(r.total >= 1000);
  });

  it('parseCRL: only CustodyError, fast, nothing malformed accepted', () => {
    const r = run({ name: 'parseCRL', inputs: w.crls.map(([, d]) => d), parse: parseCRL, reference: (b) => void pkijs.CertificateRevocationList.fromBER(b) });
    assert.ok(r.total >= 1000);
  });

  it('parseName: only CustodyError, fast, nothing malformed accepted', () => {
    const names = w.certificates.slice(0, 3).map(([, d]) => parseCertificate(d).subject.der);
    run({ name: 'parseName', inputs: names, parse: parseName, reference: (b) => void new pkijs.RelativeDistinguishedNames({ schema: asn1Whole(b) }) });
  });

  it('parseAttestation (an openssl-made signer certificate inside): only CustodyError, fast, nothing malformed accepted', async () => {
    const pki = createTestPki();
    try {
      const T = new Date('2026-11-24T15:00:00Z');
      const signer = await createAttestationSigner({ certificate: pki.p256.certDer, key: pki.p256.key, provider: new NodeCryptoProvider() });
      const statement = createStatement({
        kind: 'birth',
        device: 'Acme/SN1',
        idevidSha256: 'a'.repeat(64),
        seq: 0,
        prev: null,
        from: signer.spkiSha256,
        to: 'b'.repeat(64),
        time: T,
        claims: {},
      });
      const der = signAttestationSync(signer, statement, T);
      run({ name: 'parseAttestation', inputs: [der, der], parse: parseAttestation, reference: (b) => void pkijs.ContentInfo.fromBER(b) });
    } finally {
      pki.cleanup();
    }
  });

  it('readPEMBlocks: only CustodyError, fast', () => {
    const text = new TextEncoder().encode(`explanatory text\n${encodePEM(w.certificates[0]![1], 'CERTIFICATE')}${encodePEM(w.crls[0]![1], 'X509 CRL')}`);
    run({
      name: 'readPEMBlocks',
      inputs: [text],
      parse: (b) => readPEMBlocks(new TextDecoder().decode(b), ['CERTIFICATE', 'X509 CRL']),
      reference: () => undefined,
    });
  });
});
