import assert from 'node:assert/strict';
import { createCSR, CustodyError, prepareChecked, type CheckedRequest, type ProvisionInput } from '@custody/core';
import { NodeCryptoProvider } from '@custody/core/node';
import type { DeviceRegistry } from '@custody/core/ports';
// The built module: its worker script is the compiled provision-worker.js beside it.
import { checkRequests } from '@custody/app/check-requests';

const provider = new NodeCryptoProvider();
/** A registry that has issued nothing: only the batch's own repeats and refusals count. */
const empty = { findConflicts: async () => [] } as unknown as DeviceRegistry;

async function csrs(n: number): Promise<ProvisionInput[]> {
  const out: ProvisionInput[] = [];
  for (let i = 0; i < n; i++) {
    const kp = await provider.generateKeyPair('P-256');
    const serial = `CHK${String(i).padStart(5, '0')}`;
    out.push({
      source: `req-${i}.der`,
      csr: await createCSR(
        [
          ['O', 'Acme'],
          ['serialNumber', serial],
        ],
        kp.privateKey,
        provider,
      ),
    });
  }
  return out;
}

function breakSignature(input: ProvisionInput): ProvisionInput {
  const csr = Uint8Array.from(input.csr!);
  csr[csr.length - 1] ^= 0x01; // the last byte of the signature's s
  return { ...input, csr };
}

const summary = (c: CheckedRequest | CustodyError) =>
  c instanceof CustodyError ? `${c.code} ${c.file} ${c.message}` : `${c.source} ${c.serial} ${Buffer.from(c.spki).toString('hex')}`;

describe('checkRequests: phase 1 of provisioning on worker threads', function () {
  this.timeout(120_000);
  let inputs: ProvisionInput[];

  before(async function () {
    // More than a worker's queue (4 pieces of 256), so that this thread checks pieces from the back as well.
    inputs = await csrs(1300);
    inputs[5] = breakSignature(inputs[5]!);
    inputs[1290] = breakSignature(inputs[1290]!);
    inputs[700] = { source: 'garbage.der', csr: Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00) };
    inputs[800] = { source: 'generated-800', generated: { spki: (await provider.generateKeyPair('P-256')).publicKey.spki, serial: 'GEN-800' } };
  });

  it('gives, in input order, what checking on this thread alone gives: requests and refusals naming their files', async function () {
    const alone = await checkRequests(inputs, provider, 0);
    const threaded = await checkRequests(inputs, provider, 1);
    assert.equal(threaded.length, inputs.length);
    assert.deepEqual(threaded.map(summary), alone.map(summary));
    // Two workers take turns at the front pieces.
    assert.deepEqual((await checkRequests(inputs, provider, 2)).map(summary), alone.map(summary));
    for (const i of [5, 1290]) {
      const e = threaded[i];
      assert.ok(
        e instanceof CustodyError && e.code === 'ERR_CSR_SIGNATURE' && e.file === `req-${i}.der` && e.message.startsWith(`req-${i}.der: `),
        summary(e!),
      );
    }
    assert.ok(threaded[700] instanceof CustodyError && threaded[700].file === 'garbage.der');
    assert.equal((threaded[800] as CheckedRequest).serial, 'GEN-800');
    assert.equal(threaded.filter((c) => c instanceof CustodyError).length, 3);
  });

  it('lets prepareChecked report the first problem in input order, a repeat before a later refusal', async function () {
    const threaded = await checkRequests(inputs, provider, 1);
    await assert.rejects(prepareChecked(threaded, empty, provider), (e: CustodyError) => e.code === 'ERR_CSR_SIGNATURE' && e.file === 'req-5.der');
    const withRepeat = [...inputs.slice(0, 3), inputs[1]!, ...inputs.slice(3)];
    await assert.rejects(
      prepareChecked(await checkRequests(withRepeat, provider, 1), empty, provider),
      (e: CustodyError) => e.code === 'ERR_DUPLICATE_SERIAL' && e.file === 'req-1.der',
    );
  });
});
