import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAttestationSigner, signAttestationSync } from '../../src/attestation/cms.js';
import { createStatement, encodeStatement } from '../../src/attestation/statement.js';
import { NodeCryptoProvider } from '../../src/crypto/node-provider.js';
import { createTestPki, type TestPki } from './pki.js';

const provider = new NodeCryptoProvider();
const T = new Date('2026-11-24T15:00:00Z');

/**
 * The documented interop command. `-purpose any` is needed: the party certificate's only extended key usage is
 * custodyAttestation (1.3.6.1.4.1.58270.1.1), and the default S/MIME signing purpose refuses it.
 */
function opensslVerify(dir: string, der: string, ca: string, out: string, purposeAny = true) {
  const args = ['cms', '-verify', '-inform', 'DER', '-binary', '-in', der, '-CAfile', ca, ...(purposeAny ? ['-purpose', 'any'] : []), '-out', out];
  return spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
}

describe('attestation interop: openssl cms -verify', () => {
  let pki: TestPki;
  before(() => {
    pki = createTestPki();
    execFileSync('openssl', ['verify', '-x509_strict', '-CAfile', pki.caPath, pki.p256.certPath]);
  });
  after(() => pki.cleanup());

  for (const which of ['p256', 'p384', 'noSki'] as const) {
    it(`accepts a ${which} attestation and prints the statement bytes exactly`, async () => {
      const party = pki[which];
      const signer = await createAttestationSigner({ certificate: party.certDer, key: party.key, provider });
      const statement = createStatement({
        kind: 'handoff',
        device: 'Acme/SN000042',
        idevidSha256: 'a'.repeat(64),
        seq: 1,
        prev: 'd'.repeat(64),
        from: signer.spkiSha256,
        to: 'b'.repeat(64),
        time: T,
        claims: { product: { name: 'Gateway' }, 'acme.example/lot': 'L-7' },
      });
      writeFileSync(join(pki.dir, `${which}.der`), signAttestationSync(signer, statement, T));
      const r = opensslVerify(pki.dir, `${which}.der`, pki.caPath, `${which}.json`);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /Verification successful/);
      assert.deepEqual(new Uint8Array(readFileSync(join(pki.dir, `${which}.json`))), encodeStatement(statement));
    });
  }

  it('is refused without -purpose any (custom EKU), and when a content byte is changed', async () => {
    const signer = await createAttestationSigner({ certificate: pki.p256.certDer, key: pki.p256.key, provider });
    const statement = createStatement({
      kind: 'birth',
      device: 'Acme/1',
      idevidSha256: 'a'.repeat(64),
      seq: 0,
      prev: null,
      from: signer.spkiSha256,
      to: 'b'.repeat(64),
      time: T,
    });
    const der = signAttestationSync(signer, statement, T);
    writeFileSync(join(pki.dir, 'plain.der'), der);
    const r1 = opensslVerify(pki.dir, 'plain.der', pki.caPath, 'plain.json', false);
    assert.notEqual(r1.status, 0);
    assert.match(r1.stderr, /unsuitable certificate purpose/);
    const bad = der.slice();
    const at = Buffer.from(der).indexOf('"seq":0');
    bad[at + 6] = 0x31; // "seq":1
    writeFileSync(join(pki.dir, 'bad.der'), bad);
    const r2 = opensslVerify(pki.dir, 'bad.der', pki.caPath, 'bad.json');
    assert.notEqual(r2.status, 0);
  });
});
