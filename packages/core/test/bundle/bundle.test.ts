import assert from 'node:assert/strict';
import { parseAttestation } from '../../src/attestation/cms.js';
import { createStatement } from '../../src/attestation/statement.js';
import { BUNDLE_LIMITS } from '../../src/bundle/bundle-model.js';
import { assembleCompact, compactSignature, expandShell } from '../../src/bundle/compact-attestation.js';
import { createBundle } from '../../src/bundle/create-bundle.js';
import { attachAttestation, detachAttestation } from '../../src/bundle/detach-attestation.js';
import { encodeBundle } from '../../src/bundle/encode-bundle.js';
import { parseBundle } from '../../src/bundle/parse-bundle.js';
import { rebuildAttestation } from '../../src/bundle/rebuild-attestation.js';
import { signAttestation } from '../../src/attestation/cms.js';
import { createVerifier } from '../../src/verification/verifier.js';
import { AT, makeWorld, provider, sha256hex, T_BIRTH, type World } from '../verification/fixtures.js';

describe('bundle format v1', () => {
  let w: World;
  let text: string;
  before(async () => {
    w = await makeWorld();
    text = encodeBundle(createBundle({ certificate: w.device.der, chain: [w.acmeIssuing.der], attestations: w.chain }));
  });

  describe('detached attestations', () => {
    it('detach then attach gives back every attestation byte for byte', () => {
      for (const der of w.chain) {
        const d = detachAttestation(der);
        assert.ok(d.shell.length < der.length / 3, 'the shell drops the statement and the certificate');
        assert.deepEqual(attachAttestation(d.shell, d.statement, d.certificate), der);
      }
    });

    it('the compact form (signature only) rebuilds the same shell', () => {
      for (const der of w.chain) {
        const d = detachAttestation(der);
        const sig = compactSignature(d.shell, d.statement, d.certificate);
        assert.ok(sig && sig.length <= 72);
        assert.deepEqual(expandShell(sig, d.statement, d.certificate), d.shell);
      }
    });

    it('the compact form rebuilds the whole attestation byte for byte, with the parts a parse reads', () => {
      for (const der of w.chain) {
        const d = detachAttestation(der);
        const c = assembleCompact(compactSignature(d.shell, d.statement, d.certificate)!, d.statement, d.certificate);
        assert.deepEqual(c.der, der);
        const parsed = parseAttestation(der);
        assert.deepEqual(c.content, parsed.statementBytes);
        assert.deepEqual(c.signedAttrs, parsed.signedAttrs);
        assert.deepEqual(c.messageDigest, parsed.messageDigest);
        assert.equal(c.signingTime.getTime(), parsed.signingTime.getTime());
        assert.deepEqual(c.spki, parsed.signerSpki);
        assert.equal(c.sidKind, parsed.sidKind);
      }
    });

    it('the compact form rebuilds byte for byte an attestation signed after 2049 (GeneralizedTime signing time)', async () => {
      const time = new Date('2051-03-04T05:06:07Z');
      const s = { ...parseAttestation(w.chain[0]!).statement };
      s.predicate = { ...s.predicate, time: '2051-03-04T05:06:07Z' };
      const der = await signAttestation(w.factory.signer, s, time);
      const d = detachAttestation(der);
      const sig = compactSignature(d.shell, d.statement, d.certificate);
      assert.ok(sig, 'the compact form applies');
      const c = assembleCompact(sig, d.statement, d.certificate);
      assert.deepEqual(c.der, der);
      assert.deepEqual(c.signedAttrs, parseAttestation(der).signedAttrs);
      assert.equal(c.signingTime.getTime(), time.getTime());
    });

    it('keeps the whole shell when the signing-time differs from the statement time', async () => {
      const statement = parseAttestation(w.chain[0]!).statement;
      const der = await signAttestation(w.factory.signer, statement, new Date(T_BIRTH.getTime() + 5000));
      const bundle = createBundle({ certificate: w.device.der, chain: [w.acmeIssuing.der], attestations: [der] });
      assert.ok(bundle.attestations[0]!.shell && !bundle.attestations[0]!.signature);
      assert.deepEqual(rebuildAttestation(parseBundle(encodeBundle(bundle)).attestations[0]!, bundle.certificates), der);
    });

    it('refuses to detach an attestation whose statement is not canonical JSON', async () => {
      const parsed = parseAttestation(w.chain[0]!);
      // Same statement, keys in another order: it parses, but re-encoding would not give the signed bytes.
      const s = createStatement({
        kind: 'birth',
        device: parsed.statement.subject[0].name,
        idevidSha256: sha256hex(w.device.der),
        seq: 0,
        prev: null,
        from: w.factory.spkiSha256,
        to: w.integrator.spkiSha256,
        time: T_BIRTH,
      });
      const der = await signAttestation(w.factory.signer, s, T_BIRTH);
      const d = detachAttestation(der);
      assert.deepEqual(attachAttestation(d.shell, d.statement, d.certificate), der);
      assert.throws(() => attachAttestation(d.shell.subarray(0, d.shell.length - 1), d.statement, d.certificate), { code: 'ERR_BUNDLE_ATTESTATION' });
    });
  });

  describe('encode and parse', () => {
    it('round-trips: parse(encode(bundle)) encodes to the same text, and rebuilds every attestation', () => {
      const b = parseBundle(text);
      assert.equal(encodeBundle(b), text);
      assert.equal(b.certificates.length, 5, 'IDevID, issuing CA, three distinct party certificates');
      assert.deepEqual(b.certificates[0], w.device.der);
      b.attestations.forEach((a, i) => assert.deepEqual(rebuildAttestation(a, b.certificates), w.chain[i]));
    });

    it('keeps a realistic bundle (3 distinct signers, a few claims) under 6,000 bytes', () => {
      const bytes = new TextEncoder().encode(text).length;
      const der = w.chain.reduce((n, a) => n + a.length, 0);
      console.log(`      bundle.bytes = ${bytes} (attestations as DER alone: ${der} bytes)`);
      assert.ok(bytes <= 6000, `bundle is ${bytes} bytes`);
    });

    it('writes keys in a fixed order, compact', () => {
      assert.match(text, /^\{"version":1,"certificates":\["[A-Za-z0-9+/=]+",/);
      assert.match(text, /"attestations":\[\{"signer":2,"statement":\{"_type":"https:\/\/in-toto.io\/Statement\/v1",/);
      assert.ok(!/\s"|":\s/.test(text));
    });

    it('carries crls and log when present', () => {
      const b = parseBundle(text);
      const withMore = {
        ...b,
        crls: [w.acmeRoot.der],
        log: { checkpoint: 'log.example\n3\nAAAA\n', proofs: [{ attestation: 0, leafIndex: 1, treeSize: 3, hashes: [new Uint8Array(32)] }] },
      };
      const t = encodeBundle(withMore);
      assert.equal(encodeBundle(parseBundle(t)), t);
    });
  });

  describe('malformed bundles', () => {
    const mutate = (f: (j: any) => void): string => {
      const j = JSON.parse(text);
      f(j);
      return JSON.stringify(j);
    };
    const cases: Array<[string, () => string, RegExp]> = [
      ['truncated JSON', () => text.slice(0, text.length - 10), /not JSON/],
      ['not an object', () => '[1,2]', /must be a JSON object/],
      ['wrong version', () => mutate((j) => (j.version = 2)), /version 2 is not supported/],
      ['version as a string', () => mutate((j) => (j.version = '1')), /version "1" is not supported/],
      ['unknown top-level field', () => mutate((j) => (j.extra = true)), /extra is not a known field/],
      ['missing certificates', () => mutate((j) => delete j.certificates), /certificates is missing/],
      ['unknown attestation field', () => mutate((j) => (j.attestations[0].note = 'x')), /attestations\[0\]\.note is not a known field/],
      ['both cms and signature', () => mutate((j) => (j.attestations[0].cms = j.attestations[0].signature)), /exactly one of "cms" and "signature"/],
      ['bad base64', () => mutate((j) => (j.certificates[1] = j.certificates[1].slice(1))), /certificates\[1\] is not canonical standard base64/],
      [
        'base64 with whitespace',
        () => mutate((j) => (j.certificates[1] = j.certificates[1].slice(0, 8) + '\n' + j.certificates[1].slice(8))),
        /certificates\[1\]/,
      ],
      ['certificate not DER', () => mutate((j) => (j.certificates[1] = 'AAAA')), /certificates\[1\] is not a DER SEQUENCE/],
      ['signer index out of range', () => mutate((j) => (j.attestations[1].signer = 9)), /attestations\[1\]\.signer must be a certificate index from 0 to 4/],
      ['signer index negative', () => mutate((j) => (j.attestations[1].signer = -1)), /attestations\[1\]\.signer must be an integer/],
      ['signer index fractional', () => mutate((j) => (j.attestations[1].signer = 1.5)), /attestations\[1\]\.signer must be an integer/],
      ['duplicate certificate', () => mutate((j) => j.certificates.push(j.certificates[2])), /certificates\[5\] repeats an earlier certificate/],
      [
        'duplicate certificate in a long list (searched through a Set)',
        () =>
          mutate((j) => {
            for (let k = 0; k < 6; k++) j.certificates.push(Buffer.from([0x30, 1, k]).toString('base64'));
            j.certificates.push(j.certificates[7]);
          }),
        /certificates\[11\] repeats an earlier certificate/,
      ],
      [
        'duplicate of the first certificate, last in a short list',
        () => mutate((j) => j.certificates.push(Buffer.from([0x30, 1, 9]).toString('base64'), j.certificates[0])),
        /certificates\[6\] repeats an earlier certificate/,
      ],
      ['certificates not an array', () => mutate((j) => (j.certificates = 'x')), /certificates must be an array/],
      ['no certificates', () => mutate((j) => (j.certificates = [])), /certificates must hold at least 1/],
      ['no attestations', () => mutate((j) => (j.attestations = [])), /attestations must hold at least 1/],
      [
        'statement with an unknown field',
        () => mutate((j) => (j.attestations[0].statement.predicate.note = 1)),
        /attestations\[0\]\.statement: .*predicate\.note is not a known field/,
      ],
      [
        'statement with a bad hash',
        () => mutate((j) => (j.attestations[1].statement.predicate.prev = 'zz')),
        /attestations\[1\]\.statement: .*predicate\.prev/,
      ],
      [
        'unknown claim',
        () => mutate((j) => (j.attestations[0].statement.predicate.claims.bogus = {})),
        /attestations\[0\]\.statement: .*unknown claim "bogus"/,
      ],
      ['crls with a bad entry', () => mutate((j) => (j.crls = [42])), /crls\[0\] must be a base64 string/],
      [
        'log proof out of range',
        () => mutate((j) => (j.log = { checkpoint: 'c', proofs: [{ attestation: 7, leafIndex: 0, treeSize: 1, hashes: [] }] })),
        /log\.proofs\[0\]\.attestation/,
      ],
      ['huge certificates array', () => mutate((j) => (j.certificates = new Array(100000).fill('MA=='))), /certificates holds 100000 entries, at most 64/],
      ['huge attestations array', () => mutate((j) => (j.attestations = new Array(5000).fill({}))), /attestations holds 5000 entries, at most 256/],
      ['text over the size cap', () => text + ' '.repeat(BUNDLE_LIMITS.maxTextLength), /at most 1048576 allowed/],
      ['oversized certificate', () => mutate((j) => (j.certificates[1] = 'MII' + 'A'.repeat(20001))), /certificates\[1\] is 20004 base64 characters/],
      [
        'deeply nested claims',
        () => text.replace('"claims":{', `"claims":{"acme.example/deep":${'['.repeat(5000)}1${']'.repeat(5000)},`),
        /nested deeper than 64 levels \(at attestations\[0\]\.statement\.predicate\.claims\["acme\.example\/deep"\]/,
      ],
    ];
    for (const [name, make, message] of cases) {
      it(`refuses ${name} with ERR_BUNDLE_MALFORMED`, () => {
        const t0 = performance.now();
        assert.throws(
          () => parseBundle(make()),
          (e: any) => {
            assert.equal(e.code, 'ERR_BUNDLE_MALFORMED', e.message);
            assert.match(e.message, message);
            return true;
          },
        );
        assert.ok(performance.now() - t0 < 2000);
      });
    }
  });

  // Issue 17: JSON.parse keeps the last of two equal member names, another reader the first, so one signed
  // bundle could name one buyer to custody and another to the next tool.
  describe('strict JSON', () => {
    /** The bundle text with a second `to` member written just before attestation 1's `to`. */
    const withSecondTo = (to: string): string => {
      const at = text.indexOf('"to":', text.indexOf('"seq":1'));
      assert.ok(at > 0);
      return `${text.slice(0, at)}"to":"${to}",${text.slice(at)}`;
    };

    it('refuses a duplicate "to" inside a statement, naming where, and accepts the same document without it', () => {
      const ownTo = parseBundle(text).attestations[1]!.statement.predicate.to;
      assert.throws(() => parseBundle(withSecondTo('e'.repeat(64))), {
        code: 'ERR_BUNDLE_MALFORMED',
        message: 'bundle: duplicate member name "to" in attestations[1].statement.predicate',
      });
      // Equal values are no excuse: the rule is about names.
      assert.throws(() => parseBundle(withSecondTo(ownTo)), { code: 'ERR_BUNDLE_MALFORMED' });
      assert.equal(parseBundle(text).attestations[1]!.statement.predicate.to, ownTo);
    });

    it('refuses a duplicate written with an escape ("\\u0074o")', () => {
      const at = text.indexOf('"to":', text.indexOf('"seq":1'));
      assert.throws(() => parseBundle(`${text.slice(0, at)}"\\u0074o":"${'e'.repeat(64)}",${text.slice(at)}`), {
        code: 'ERR_BUNDLE_MALFORMED',
        message: /duplicate member name "to"/,
      });
    });

    it('refuses a duplicate top-level member and a "__proto__" member', () => {
      assert.throws(() => parseBundle(`{"version":1,${text.slice(1)}`), {
        code: 'ERR_BUNDLE_MALFORMED',
        message: /duplicate member name "version" in the top-level object/,
      });
      assert.throws(() => parseBundle(text.replace('"claims":{', '"claims":{"acme.example/x":{"__proto__":{"a":1}},')), {
        code: 'ERR_BUNDLE_MALFORMED',
        message: /"__proto__"/,
      });
    });

    it('a version of 20,000 nested arrays is refused fast with ERR_BUNDLE_MALFORMED (it overflowed the stack building the message)', () => {
      const t0 = performance.now();
      assert.throws(() => parseBundle(`{"version":${'['.repeat(20_000)}${']'.repeat(20_000)},${text.slice(text.indexOf('"certificates"'))}`), {
        code: 'ERR_BUNDLE_MALFORMED',
        message: /nested deeper than 64 levels \(at version/,
      });
      assert.ok(performance.now() - t0 < 100);
    });

    it('quotes a bounded prefix of an unsupported version string', () => {
      assert.throws(
        () => parseBundle(text.replace('"version":1', `"version":"${'9'.repeat(100_000)}"`)),
        (e: any) => e.code === 'ERR_BUNDLE_MALFORMED' && e.message.length < 300,
      );
      assert.throws(() => parseBundle(text.replace('"version":1', '"version":[[1]]')), {
        code: 'ERR_BUNDLE_MALFORMED',
        message: /version an array is not supported/,
      });
    });

    it('the verifier reports a duplicate member in its first check, with the code', async () => {
      const r = await createVerifier({ trustAnchors: w.trustAnchors, provider, at: AT }).verify(withSecondTo('e'.repeat(64)));
      assert.equal(r.ok, false);
      assert.equal(r.code, 'ERR_BUNDLE_MALFORMED');
      assert.equal(r.checks[0]!.code, 'ERR_BUNDLE_MALFORMED');
      assert.match(r.checks[0]!.reason ?? '', /duplicate member name "to" in attestations\[1\]\.statement\.predicate/);
      assert.equal((await createVerifier({ trustAnchors: w.trustAnchors, provider, at: AT }).verify(text)).ok, true);
    });
  });
});
