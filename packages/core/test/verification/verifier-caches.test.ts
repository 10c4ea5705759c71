/**
 * What the verifier's fast paths may not change: the certificate-hash memo (recent-digests.ts) answers only for equal
 * bytes, and the synchronous signature check of the node provider gives the reports of the asynchronous one of any
 * provider (WebCrypto), for valid bundles and for a tampered statement of a compact entry (whose message digest the
 * synchronous path no longer recomputes).
 */
import assert from 'node:assert/strict';
import { createHash, webcrypto } from 'node:crypto';
import { createBundle } from '../../src/bundle/create-bundle.js';
import { encodeBundle } from '../../src/bundle/encode-bundle.js';
import { parseBundle } from '../../src/bundle/parse-bundle.js';
import { WebCryptoProvider } from '../../src/crypto/webcrypto-provider.js';
import { RecentDigests } from '../../src/verification/recent-digests.js';
import { createVerifier } from '../../src/verification/verifier.js';
import { AT, makeWorld, provider, type World } from './fixtures.js';

const hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('verifier caches and fast paths', () => {
  describe('RecentDigests', () => {
    it('gives the hash of the bytes it is given, never of other bytes of the same length', () => {
      let computed = 0;
      const memo = new RecentDigests((d) => (computed++, hex(d)));
      const a = new Uint8Array(300).fill(1);
      const b = a.slice();
      b[299] = 2;
      assert.equal(memo.of(a), hex(a));
      assert.equal(memo.of(b), hex(b));
      assert.equal(memo.of(a.slice()), hex(a), 'equal bytes in another array');
      assert.equal(computed, 2);
    });

    it('keeps its own copy: bytes changed after the call are hashed again', () => {
      const memo = new RecentDigests(hex);
      const a = new Uint8Array(64).fill(7);
      const before = memo.of(a);
      a[0] = 8;
      assert.notEqual(memo.of(a), before);
      assert.equal(memo.of(a), hex(a));
    });

    it('stays correct past its size', () => {
      const memo = new RecentDigests(hex);
      const many = Array.from({ length: 40 }, (_, i) => new Uint8Array(32).fill(i));
      for (let round = 0; round < 3; round++) for (const d of many) assert.equal(memo.of(d), hex(d));
    });
  });

  it('digestHexSync of the node provider is the hex of its digest', () => {
    for (const len of [0, 1, 55, 56, 64, 500, 1500]) {
      const d = new Uint8Array(len).map((_, i) => i * 7);
      assert.equal(provider.digestHexSync('SHA-256', d), hex(d));
      assert.equal(provider.digestHexSync('SHA-384', d), createHash('sha384').update(d).digest('hex'));
    }
  });

  describe('synchronous and asynchronous providers', () => {
    let w: World;
    let text: string;
    before(async () => {
      w = await makeWorld();
      text = encodeBundle(createBundle({ certificate: w.device.der, chain: [w.acmeIssuing.der], attestations: w.chain }));
    });

    it('gives the same report with the node provider and a WebCrypto provider, twice (caches warm)', async () => {
      const node = createVerifier({ trustAnchors: w.trustAnchors, provider, at: AT });
      const web = createVerifier({ trustAnchors: w.trustAnchors, provider: new WebCryptoProvider(webcrypto as unknown as Crypto), at: AT });
      for (let i = 0; i < 2; i++) {
        const r = await node.verify(text);
        assert.equal(r.ok, true, JSON.stringify(r.checks.filter((c) => !c.ok)));
        assert.deepEqual(await web.verify(text), r);
      }
    });

    it('rejects a compact entry whose statement was changed, on both paths (ERR_VERIFY_SIGNATURE)', async () => {
      const bundle = JSON.parse(text);
      assert.ok(bundle.attestations[1].signature, 'the fixture bundle uses the compact form');
      bundle.attestations[1].statement.predicate.claims = { ...bundle.attestations[1].statement.predicate.claims, 'example.com/tampered': true };
      const edited = JSON.stringify(bundle);
      for (const p of [provider, new WebCryptoProvider(webcrypto as unknown as Crypto)]) {
        const v = createVerifier({ trustAnchors: w.trustAnchors, provider: p, at: AT });
        await v.verify(text);
        const r = await v.verify(edited);
        assert.equal(r.ok, false);
        const sig = r.checks.find((c) => c.name === 'attestation 1: signature');
        assert.equal(sig?.code, 'ERR_VERIFY_SIGNATURE', JSON.stringify(r.checks.filter((c) => !c.ok)));
      }
    });
  });

  describe('statements validated by the parse are not validated again', () => {
    it('still validates the statement of a compact entry in a Bundle object the caller built (no parse of text)', async () => {
      const w = await makeWorld();
      const text = encodeBundle(createBundle({ certificate: w.device.der, chain: [w.acmeIssuing.der], attestations: w.chain }));
      const v = createVerifier({ trustAnchors: w.trustAnchors, provider, at: AT });
      assert.equal((await v.verify(text)).ok, true);
      const bundle = parseBundle(text);
      assert.ok(bundle.attestations[1]!.signature, 'the fixture bundle uses the compact form');
      // After the parse: nothing validated this value, so rebuilding the entry must refuse it.
      (bundle.attestations[1]!.statement.predicate as { from: string }).from = 'not a digest';
      const r = await v.verify(bundle);
      assert.equal(r.ok, false);
      const parse = r.checks.find((c) => c.name === 'attestation 1: parse');
      assert.equal(parse?.code, 'ERR_BUNDLE_MALFORMED', JSON.stringify(r.checks.filter((c) => !c.ok)));
      assert.match(parse?.reason ?? '', /predicate\.from must be 64 lower-case hex digits/);
      // The same change in bundle text is refused by the parse itself.
      const json = JSON.parse(text);
      json.attestations[1].statement.predicate.from = 'not a digest';
      const t = await v.verify(JSON.stringify(json));
      assert.equal(t.checks[0]?.code, 'ERR_BUNDLE_MALFORMED');
      assert.match(t.checks[0]?.reason ?? '', /attestations\[1\]\.statement: .*predicate\.from must be 64 lower-case hex digits/);
    });
  });
});
