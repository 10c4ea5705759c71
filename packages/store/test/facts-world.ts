/**
 * A device with a real chain of three attestations (factory's birth, factory to integrator, integrator to
 * reseller), for the stores' chain-facts tests: the facts are what those statements say.
 */
import { createHash } from 'node:crypto';
import type { ChainFacts, DeviceRecord } from '@custody/core/ports';
import { makeDevice, makeParty, makeRoot, signChain, T_BIRTH, T_HANDOFF1, T_HANDOFF2 } from '../../core/test/verification/fixtures.js';
import { fixtureDevice } from './contract/store-contract.js';

export interface FactsWorld {
  /** Device F1 as provisioned: its real IDevID and its birth attestation. */
  device: DeviceRecord;
  /** Birth, handoff to the integrator, handoff to the reseller. */
  chain: Uint8Array[];
  factory: string;
  integrator: string;
  reseller: string;
  /** The facts of a statement handing F1 to `custodian`. */
  factsOf(custodian: string): ChainFacts;
}

export async function makeFactsWorld(): Promise<FactsWorld> {
  const root = await makeRoot('Acme', 'Acme Root');
  const [factory, integrator, reseller] = [
    await makeParty(root, 'Acme', 'factory'),
    await makeParty(root, 'Northwind', 'integrator'),
    await makeParty(root, 'Contoso', 'reseller'),
  ];
  const idevid = await makeDevice(root, 'F1');
  const chain = await signChain(idevid, [
    { kind: 'birth', signer: factory, to: factory, time: T_BIRTH },
    { kind: 'handoff', signer: factory, to: integrator, time: T_HANDOFF1 },
    { kind: 'handoff', signer: integrator, to: reseller, time: T_HANDOFF2 },
  ]);
  const certSha256 = createHash('sha256').update(idevid.der).digest('hex');
  const device: DeviceRecord = { ...fixtureDevice('F1'), certificate: idevid.der, certSha256, attestations: chain.slice(0, 1) };
  return {
    device,
    chain,
    factory: factory.spkiSha256,
    integrator: integrator.spkiSha256,
    reseller: reseller.spkiSha256,
    factsOf: (custodian) => ({ custodian, activated: false, subject: { name: 'Acme Devices/F1', digest: { sha256: certSha256 } } }),
  };
}
