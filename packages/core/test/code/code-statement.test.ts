import assert from 'node:assert/strict';
import { createCodeStatement, encodeCodeStatement, parseCodeStatement } from '../../src/code/code-statement.js';
import { parseCodeSignature, signCode } from '../../src/code/code-signature.js';
import { utf8 } from '../../src/util/bytes.js';
import { makeCodeSigner, makeRoot, NOW } from './fixtures.js';

const H = 'ab'.repeat(32);
const S = 'cd'.repeat(32);

describe('code/code-statement: the one encoding and its strict parser', () => {
  it('round-trips with a fixed key order, version optional', () => {
    const s = createCodeStatement({ name: 'deploy.sh', sha256: H, type: 'script', version: '2.0.1', signer: S, time: NOW });
    const bytes = encodeCodeStatement(s);
    assert.equal(
      Buffer.from(bytes).toString(),
      `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"deploy.sh","digest":{"sha256":"${H}"}}],"predicateType":"https://custody.dev/code/v1","predicate":{"type":"script","version":"2.0.1","signer":"${S}","time":"2026-12-06T23:00:00Z"}}`,
    );
    assert.deepEqual(parseCodeStatement(bytes), s);
    const noVersion = createCodeStatement({ name: 'app.bin', sha256: H, type: 'app', signer: S, time: NOW });
    assert.equal('version' in noVersion.predicate, false);
    assert.deepEqual(parseCodeStatement(encodeCodeStatement(noVersion)), noVersion);
  });

  const base = () =>
    JSON.parse(Buffer.from(encodeCodeStatement(createCodeStatement({ name: 'a.sh', sha256: H, type: 'config', signer: S, time: NOW }))).toString());
  const cases: Array<[string, (o: any) => unknown]> = [
    ['an unknown type', (o) => ((o.predicate.type = 'kernel'), o)],
    ['a path as the name', (o) => ((o.subject[0].name = '../etc/passwd'), o)],
    ['an upper-case digest', (o) => ((o.subject[0].digest.sha256 = H.toUpperCase()), o)],
    ['an attestation predicateType', (o) => ((o.predicateType = 'https://custody.dev/attestation/birth/v1'), o)],
    ['an unknown predicate field', (o) => ((o.predicate.extra = 1), o)],
    ['a missing signer', (o) => (delete o.predicate.signer, o)],
    ['two subjects', (o) => ((o.subject = [o.subject[0], o.subject[0]]), o)],
    ['a bad time', (o) => ((o.predicate.time = '2026-02-30T00:00:00Z'), o)],
    ['a version with a space', (o) => ((o.predicate.version = '1 0'), o)],
  ];
  for (const [what, change] of cases) {
    it(`refuses ${what} with ERR_CODE_SIGNATURE_MALFORMED`, () => {
      assert.throws(() => parseCodeStatement(utf8(JSON.stringify(change(base())))), { code: 'ERR_CODE_SIGNATURE_MALFORMED' });
    });
  }

  it('an unknown field named by 2,000 characters is quoted and cut in a one-line message (fuzz finding)', () => {
    const o = base();
    o.predicate['versio'.repeat(350) + '\n'] = 1;
    assert.throws(
      () => parseCodeStatement(utf8(JSON.stringify(o))),
      (e: Error & { code?: string }) => e.code === 'ERR_CODE_SIGNATURE_MALFORMED' && e.message.length < 200 && !e.message.includes('\n'),
    );
  });

  it('refuses duplicate keys, non-UTF-8 and oversized statements', () => {
    const text = Buffer.from(encodeCodeStatement(createCodeStatement({ name: 'a.sh', sha256: H, type: 'config', signer: S, time: NOW }))).toString();
    assert.throws(() => parseCodeStatement(utf8(text.replace('"type":"config"', '"type":"config","type":"app"'))), { code: 'ERR_CODE_SIGNATURE_MALFORMED' });
    assert.throws(() => parseCodeStatement(new Uint8Array([0x7b, 0xff, 0x7d])), { code: 'ERR_CODE_SIGNATURE_MALFORMED' });
    assert.throws(() => parseCodeStatement(new Uint8Array(5000).fill(0x20)), { code: 'ERR_CODE_SIGNATURE_MALFORMED' });
  });

  it('a signed code statement parses back (CMS round trip), and an attestation parser would not take it', async () => {
    const root = await makeRoot('Fabrikam code CA');
    const signer = await makeCodeSigner(root, 'ops');
    const { der, statement } = await signCode(signer.signer, { name: 'a.sh', content: utf8('echo hi\n'), type: 'script', time: NOW });
    const parsed = parseCodeSignature(der);
    assert.deepEqual(parsed.statement, statement);
    assert.deepEqual(parsed.signerCertificate, signer.der);
    assert.equal(parsed.signingTime.toISOString(), NOW.toISOString());
    const { parseAttestation } = await import('../../src/attestation/cms.js');
    assert.throws(() => parseAttestation(der), { code: 'ERR_ATTESTATION_STATEMENT' });
  });
});
