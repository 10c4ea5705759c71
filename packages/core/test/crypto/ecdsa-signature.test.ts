import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NodeCryptoProvider } from '../../src/crypto/node-provider.js';
import { ecdsaDERToP1363, ecdsaP1363ToDER } from '../../src/crypto/ecdsa-signature.js';
import { fromHex } from '../../src/util/bytes.js';
import type { CurveName } from '../../src/crypto/provider.js';

const vectors = fileURLToPath(new URL('../../../../../shared/vectors/wycheproof/', import.meta.url));

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
