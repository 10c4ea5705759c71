import assert from 'node:assert/strict';
import { randomBytes, sign as nodeSign, webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NodeCryptoProvider, nodeKeyObject } from '../../src/crypto/node-provider.js';
import { WebCryptoProvider } from '../../src/crypto/webcrypto-provider.js';
import { ecdsaDERToP1363, ecdsaP1363ToDER, isLowS, isLowSValue, toLowS } from '../../src/crypto/ecdsa-signature.js';
import { fromHex } from '../../src/util/bytes.js';
import type { CryptoProvider, CurveName } from '../../src/crypto/provider.js';
import { ORDER, scalar, sOf, twinP1363 } from '../attestation/high-s-twin.js';

const vectors = fileURLToPath(new URL('../../../../test/vectors/wycheproof/', import.meta.url));

interface WycheproofFile {
  testGroups: Array<{ publicKeyDer: string; tests: Array<{ tcId: number; msg: string; sig: string; result: string }> }>;
}

async function verifyDER(provider: NodeCryptoProvider, curve: CurveName, spki: Uint8Array, msg: Uint8Array, sig: Uint8Array): Promise<boolean> {
  let p1363: Uint8Array;
  try {
    p1363 = ecdsaDERToP1363(sig, curve);
  } catch {
    return false;
  }
  const key = await provider.importPublicKey(spki);
  return provider.verify(key, msg, p1363);
}

describe('ECDSA DER signatures (Wycheproof)', () => {
  const provider = new NodeCryptoProvider();
  for (const [file, curve] of [
    ['ecdsa_secp256r1_sha256_test.json', 'P-256'],
    ['ecdsa_secp384r1_sha384_test.json', 'P-384'],
  ] as const) {
    it(`agrees with every case of ${file}`, async () => {
      const data = JSON.parse(readFileSync(vectors + file, 'utf8')) as WycheproofFile;
      let n = 0;
      const disagreements: string[] = [];
      for (const g of data.testGroups) {
        const spki = fromHex(g.publicKeyDer);
        for (const t of g.tests) {
          const ok = await verifyDER(provider, curve, spki, fromHex(t.msg), fromHex(t.sig));
          // "acceptable" cases are legal but discouraged encodings; a strict verifier refuses them too.
          const want = t.result === 'valid';
          if (ok !== want) disagreements.push(`tcId ${t.tcId}: expected ${t.result}, got ${ok}`);
          n++;
        }
      }
      assert.ok(n > 300, `only ${n} cases read`);
      assert.deepEqual(disagreements, []);
    });
  }

  it('round-trips P1363 through DER', () => {
    const r = new Uint8Array(32).fill(0x80);
    const s = new Uint8Array(32);
    s[31] = 1;
    const p = new Uint8Array([...r, ...s]);
    assert.deepEqual(ecdsaDERToP1363(ecdsaP1363ToDER(p), 'P-256'), p);
  });

  it('refuses trailing bytes with ERR_SIGNATURE_ENCODING', () => {
    const der = ecdsaP1363ToDER(new Uint8Array(64).fill(1));
    assert.throws(() => ecdsaDERToP1363(new Uint8Array([...der, 0]), 'P-256'), { code: 'ERR_SIGNATURE_ENCODING' });
  });
});

describe('low-S ECDSA signatures (toLowS, isLowS)', () => {
  const CURVES = ['P-256', 'P-384'] as const;
  const width = (curve: CurveName) => (curve === 'P-256' ? 32 : 48);
  /** A P1363 signature with a fixed r and the given s. */
  const sig = (s: bigint, curve: CurveName) => {
    const out = new Uint8Array(2 * width(curve)).fill(0x5a);
    out.set(scalar(s, curve), width(curve));
    return out;
  };

  for (const curve of CURVES) {
    const n = ORDER[curve];
    const half = n / 2n; // floor: n is odd

    it(`${curve}: s = n/2 is low and kept; n/2 + 1 and n - 1 are high and become n/2 and 1, r unchanged`, () => {
      const atHalf = sig(half, curve);
      assert.equal(isLowS(atHalf, curve), true);
      assert.equal(toLowS(atHalf, curve), atHalf, 'a low-S signature is returned as it is, not copied');
      for (const [s, low] of [
        [half + 1n, half],
        [n - 1n, 1n],
      ] as const) {
        const high = sig(s, curve);
        const before = high.slice();
        assert.equal(isLowS(high, curve), false, `s = ${s.toString(16)}`);
        const fixed = toLowS(high, curve);
        assert.deepEqual(fixed, sig(low, curve));
        assert.equal(isLowS(fixed, curve), true);
        assert.deepEqual(high, before, 'the input is left as it was');
      }
      assert.equal(isLowS(sig(1n, curve), curve), true);
    });

    it(`${curve}: agrees with BigInt arithmetic on 2,000 random values of s`, () => {
      for (let i = 0; i < 2000; i++) {
        const s = (BigInt(`0x${randomBytes(width(curve)).toString('hex')}`) % (n - 1n)) + 1n;
        const p = sig(s, curve);
        assert.equal(isLowS(p, curve), s <= half);
        assert.equal(sOf(toLowS(p, curve), curve), s <= half ? s : n - s);
      }
    });

    it(`${curve}: refuses the wrong length and s >= n with a TypeError`, () => {
      assert.throws(() => isLowS(new Uint8Array(2 * width(curve) - 1), curve), TypeError);
      assert.throws(() => toLowS(new Uint8Array(2 * width(curve) + 2), curve), TypeError);
      assert.throws(() => toLowS(sig(n, curve), curve), TypeError);
      assert.throws(() => toLowS(sig(n + 5n, curve), curve), TypeError);
    });

    it(`${curve}: isLowSValue reads s in place as a DER INTEGER holds it (leading zero, shorter, longer)`, () => {
      const at = (v: Uint8Array) => {
        const buf = new Uint8Array(v.length + 4).fill(0xff);
        buf.set(v, 2);
        return isLowSValue(buf, 2, 2 + v.length, curve);
      };
      assert.equal(at(scalar(half, curve)), true);
      assert.equal(at(Uint8Array.from([0, ...scalar(half + 1n, curve)])), false);
      assert.equal(at(Uint8Array.from([0, ...scalar(half, curve)])), true);
      assert.equal(at(scalar(n - 1n, curve)), false);
      assert.equal(at(Uint8Array.of(1)), true);
      assert.equal(at(new Uint8Array(width(curve) + 1).fill(1)), false);
    });
  }

  for (const [file, curve] of [
    ['ecdsa_secp256r1_sha256_test.json', 'P-256'],
    ['ecdsa_secp384r1_sha384_test.json', 'P-384'],
  ] as const) {
    it(`keeps every valid signature of ${file} valid in its low-S form, and finds both forms among them`, async () => {
      const provider = new NodeCryptoProvider();
      const data = JSON.parse(readFileSync(vectors + file, 'utf8')) as WycheproofFile;
      const seen = { low: 0, high: 0 };
      for (const g of data.testGroups) {
        const key = await provider.importPublicKey(fromHex(g.publicKeyDer));
        for (const t of g.tests) {
          if (t.result !== 'valid') continue;
          const p = ecdsaDERToP1363(fromHex(t.sig), curve);
          const low = isLowS(p, curve);
          assert.equal(low, sOf(p, curve) <= ORDER[curve] / 2n, `tcId ${t.tcId}`);
          seen[low ? 'low' : 'high']++;
          const fixed = toLowS(p, curve);
          assert.equal(await provider.verify(key, fromHex(t.msg), fixed), true, `tcId ${t.tcId}: the low-S form does not verify`);
          // The twin of a valid signature is valid too: the malleability the rule closes.
          assert.equal(await provider.verify(key, fromHex(t.msg), twinP1363(fixed, curve)), true, `tcId ${t.tcId}: the twin does not verify`);
        }
      }
      assert.ok(seen.low > 10 && seen.high > 10, JSON.stringify(seen));
    });
  }

  const providers: Array<[string, () => CryptoProvider]> = [
    ['node', () => new NodeCryptoProvider()],
    ['WebCrypto', () => new WebCryptoProvider(webcrypto as any)],
  ];
  for (const [name, make] of providers) {
    for (const curve of CURVES) {
      it(`the ${name} provider signs low-S only: 200 ${curve} signatures, each verifying`, async () => {
        const provider = make();
        const { privateKey, publicKey } = await provider.generateKeyPair(curve);
        const sync = provider as Partial<NodeCryptoProvider>;
        for (let i = 0; i < 200; i++) {
          const data = randomBytes(40);
          const signature = sync.signSync && i % 2 === 0 ? sync.signSync(privateKey, data) : await provider.sign(privateKey, data);
          assert.equal(isLowS(signature, curve), true, `signature ${i} is high-S`);
          assert.equal(await provider.verify(publicKey, data, signature), true, `signature ${i} does not verify`);
        }
      });
    }
  }

  it('benchmark: toLowS per signature, against signSync (printed, not asserted)', async () => {
    const provider = new NodeCryptoProvider();
    const { privateKey } = await provider.generateKeyPair('P-256');
    const data = randomBytes(100);
    // Raw node signatures, before toLowS: about half of them high.
    const raw = Array.from({ length: 1000 }, () => new Uint8Array(nodeSign('sha256', data, { key: nodeKeyObject(privateKey), dsaEncoding: 'ieee-p1363' })));
    const highShare = raw.filter((p) => !isLowS(p, 'P-256')).length / raw.length;
    const rounds = 200;
    for (let i = 0; i < 20_000; i++) toLowS(raw[i % raw.length]!, 'P-256');
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < rounds; k++) for (const p of raw) toLowS(p, 'P-256');
    const nsLowS = Number(process.hrtime.bigint() - t0) / (rounds * raw.length);
    const t1 = process.hrtime.bigint();
    for (let i = 0; i < 2000; i++) provider.signSync(privateKey, data);
    const nsSign = Number(process.hrtime.bigint() - t1) / 2000;
    console.log(
      `      toLowS ${nsLowS.toFixed(0)} ns a signature (${(100 * highShare).toFixed(0)}% high), signSync ${(nsSign / 1000).toFixed(1)} µs: ${((100 * nsLowS) / nsSign).toFixed(2)}% of a signature`,
    );
  });
});
