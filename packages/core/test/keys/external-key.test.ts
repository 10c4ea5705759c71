import assert from 'node:assert/strict';
import { NodeCryptoProvider } from '../../src/crypto/node-provider.js';
import { isExternalPrivateKey, type ExternalPrivateKey } from '../../src/crypto/provider.js';

describe('external private keys (keys that sign by themselves, as in a PKCS#11 token)', () => {
  const provider = new NodeCryptoProvider();

  it('the node provider hands the data to the key and returns its signature', async () => {
    const inner = await provider.generateKeyPair('P-256');
    const seen: Uint8Array[] = [];
    const external: ExternalPrivateKey = {
      curve: 'P-256',
      spki: inner.publicKey.spki,
      signSync(data) {
        seen.push(data);
        return provider.signSync(inner.privateKey, data);
      },
    };
    const data = new TextEncoder().encode('to be signed');
    const sig = await provider.sign(external, data);
    assert.deepEqual(seen, [data]);
    assert.equal(await provider.verify(inner.publicKey, data, sig), true);
    assert.equal(provider.signSync(external, data).length, 64);
  });

  it('a provider key is not external; a handle without key material or signSync is a TypeError', async () => {
    const { privateKey } = await provider.generateKeyPair('P-256');
    assert.equal(isExternalPrivateKey(privateKey), false);
    assert.throws(() => provider.signSync({ curve: 'P-256', spki: new Uint8Array(0) }, new Uint8Array(1)), TypeError);
  });
});
