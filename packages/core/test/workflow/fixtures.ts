/**
 * Fixed parties, CAs and chains for the workflow tests. Hashes are made-up but well-formed hex; nothing here is
 * signed: workflow evaluation runs on identities that verification already established.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Claims } from '../../src/attestation/claims.js';
import type { ChainStep } from '../../src/workflow/evaluate-workflow.js';
import type { PartyIdentity, WorkflowTrust } from '../../src/workflow/signer-rule.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** Text of a file under the repository's `workflows/` folder. */
export function workflowFile(rel: string): string {
  return readFileSync(`${ROOT}workflows/${rel}`, 'utf8');
}

const hex = (c: string): string => c.repeat(64);

/** The CAs the tests trust, by workflow name. */
export const TRUST: WorkflowTrust = {
  cas: {
    manufacturer: { subjectDN: 'CN=Acme Devices Party CA,O=Acme Devices', certSha256: hex('1') },
    integrator: { subjectDN: 'CN=Northwind Party CA,O=Northwind Integration', certSha256: hex('2') },
    reseller: { subjectDN: 'CN=Resale Party CA,O=Resale Alliance', certSha256: hex('3') },
    customer: { subjectDN: 'CN=Clinic Party CA,O=St. Example Clinic', certSha256: hex('4') },
  },
};

/** A party certificate issued by `ca` (a TRUST name, or anything else for an outsider). */
export function party(org: string, ca: string, key: string): PartyIdentity {
  const issuer = TRUST.cas[ca] ?? { subjectDN: `CN=${ca},O=Elsewhere`, certSha256: hex('9') };
  return {
    subject: { CN: `${org} signer`, O: org },
    subjectDN: `CN=${org} signer,O=${org}`,
    issuerDN: issuer.subjectDN,
    issuerCertSha256: issuer.certSha256,
    certSha256: hex(key),
    spkiSha256: `${key.repeat(60)}0000`,
  };
}

export const ACME = party('Acme Devices', 'manufacturer', 'a');
export const NORTHWIND = party('Northwind Integration', 'integrator', 'b');
export const RESALE = party('Acme Resale', 'reseller', 'c');
export const RESALE2 = party('Second Resale', 'reseller', 'd');
export const CLINIC = party('St. Example Clinic', 'customer', 'e');

export const BIRTH_CLAIMS: Claims = {
  deviceIdentity: { idevid: true, keyStorage: 'secure-element' },
  secureBoot: { enabled: true, method: 'AHAB' },
  debugPorts: { state: 'locked' },
  signedUpdates: { enabled: true },
  authentication: { enabled: true, method: 'mtls' },
  secureConnections: { enabled: true, protocols: ['TLS1.3'] },
};

export const INTEGRATION_CLAIMS: Claims = {
  product: { name: 'Infusion Pump IP-7', model: 'IP-7' },
  firmware: { version: '7.1.0', sha256: hex('7') },
};

let seq = 0;
/** A chain step; `seq` counts up unless given. */
export function step(kind: ChainStep['kind'], signer: PartyIdentity, claims: Claims = {}, extra: Partial<ChainStep> = {}): ChainStep {
  return { seq: seq++, kind, signer, claims, ...extra };
}

/** Renumbers steps 0..n-1 (steps built in a test keep their order). */
export function chain(...steps: ChainStep[]): ChainStep[] {
  return steps.map((s, i) => ({ ...s, seq: i }));
}

/** birth -> integration -> resale -> (hands to CLINIC), stage names in the predicates. */
export function goodChain(): ChainStep[] {
  return chain(
    step('birth', ACME, BIRTH_CLAIMS, { stage: 'factory', to: NORTHWIND.spkiSha256 }),
    step('handoff', NORTHWIND, INTEGRATION_CLAIMS, { stage: 'integration', to: RESALE.spkiSha256 }),
    step('handoff', RESALE, {}, { stage: 'resale', to: CLINIC.spkiSha256 }),
  );
}
