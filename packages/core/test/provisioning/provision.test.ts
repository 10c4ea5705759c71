import assert from 'node:assert/strict';
import { checkRequest, prepareChecked, prepareProvisioning, type ProvisionInput } from '../../src/provisioning/provision.js';
import { createCSR } from '../../src/x509/csr.js';
import { NodeCryptoProvider } from '../../src/crypto/node-provider.js';
import { CustodyError } from '../../src/errors.js';
import type { Conflict, DeviceRegistry } from '../../src/registry/ports.js';

const provider = new NodeCryptoProvider();
const registry = (conflicts: Conflict[] = []) => ({ findConflicts: async () => conflicts }) as unknown as DeviceRegistry;

async function request(source: string, subject: Array<[string, string]>): Promise<ProvisionInput & { spki: Uint8Array }> {
  const kp = await provider.generateKeyPair('P-256');
  return { source, csr: await createCSR(subject, kp.privateKey, provider), spki: kp.publicKey.spki };
}

function broken(input: ProvisionInput): ProvisionInput {
  const csr = Uint8Array.from(input.csr!);
  csr[csr.length - 1] ^= 0x01;
  return { source: input.source, csr };
}

describe('provisioning phase 1', () => {
  describe('checkRequest', () => {
    it('returns the serial and key a CSR asks for, and passes a key made on the line through', async () => {
      const r = await request('a.csr', [
        ['O', 'Acme'],
        ['serialNumber', 'SN-1'],
      ]);
      const c = await checkRequest(r, provider);
      assert.equal(c.source, 'a.csr');
      assert.equal(c.serial, 'SN-1');
      assert.deepEqual(c.spki, r.spki);
      assert.deepEqual(await checkRequest({ source: 'line', generated: { spki: r.spki, serial: 'GEN-1' } }, provider), {
        source: 'line',
        serial: 'GEN-1',
        spki: r.spki,
      });
    });

    it('refuses a broken signature, a missing or malformed serial, naming the source', async () => {
      const r = await request('a.csr', [
        ['O', 'Acme'],
        ['serialNumber', 'SN-1'],
      ]);
      await assert.rejects(
        checkRequest(broken(r), provider),
        (e: CustodyError) => e.code === 'ERR_CSR_SIGNATURE' && e.file === 'a.csr' && e.message.startsWith('a.csr: '),
      );
      await assert.rejects(checkRequest(await request('b.csr', [['O', 'Acme']]), provider), { code: 'ERR_CSR_SERIAL', file: 'b.csr' });
      await assert.rejects(
        checkRequest(
          await request('c.csr', [
            ['O', 'Acme'],
            ['serialNumber', 'has space'],
          ]),
          provider,
        ),
        { code: 'ERR_CSR_SERIAL', file: 'c.csr' },
      );
      await assert.rejects(checkRequest({ source: 'd.der', csr: Uint8Array.of(1, 2, 3) }, provider), { file: 'd.der' });
      await assert.rejects(checkRequest({ source: 'e' }, provider), TypeError);
    });
  });

  describe('prepareChecked and prepareProvisioning', () => {
    it('report the first problem in input order: a repeat before a later refusal, a refusal before a later repeat', async () => {
      const a = await request('a.csr', [
        ['O', 'Acme'],
        ['serialNumber', 'SN-A'],
      ]);
      const b = await request('b.csr', [
        ['O', 'Acme'],
        ['serialNumber', 'SN-B'],
      ]);
      const again = await request('again.csr', [
        ['O', 'Acme'],
        ['serialNumber', 'SN-A'],
      ]);
      const bad = broken(b);
      await assert.rejects(prepareProvisioning([a, again, bad], registry(), provider), { code: 'ERR_DUPLICATE_SERIAL', file: 'again.csr' });
      await assert.rejects(prepareProvisioning([a, bad, again], registry(), provider), { code: 'ERR_CSR_SIGNATURE', file: 'b.csr' });
      const twinKey = { source: 'twin', generated: { spki: a.spki, serial: 'SN-TWIN' } };
      await assert.rejects(prepareProvisioning([a, twinKey], registry(), provider), { code: 'ERR_DUPLICATE_KEY', file: 'twin' });
    });

    it('ask the registry only about requests that passed, and name the one it knew', async () => {
      const a = await request('a.csr', [
        ['O', 'Acme'],
        ['serialNumber', 'SN-A'],
      ]);
      const b = await request('b.csr', [
        ['O', 'Acme'],
        ['serialNumber', 'SN-B'],
      ]);
      const checked = [await checkRequest(a, provider), await checkRequest(b, provider)];
      const prepared = await prepareChecked(checked, registry(), provider);
      assert.deepEqual(
        prepared.map((p) => [p.source, p.serial, p.spkiSha256.length]),
        [
          ['a.csr', 'SN-A', 64],
          ['b.csr', 'SN-B', 64],
        ],
      );
      await assert.rejects(prepareChecked(checked, registry([{ kind: 'serial', value: 'SN-B' }]), provider), { code: 'ERR_DUPLICATE_SERIAL', file: 'b.csr' });
    });
  });
});
