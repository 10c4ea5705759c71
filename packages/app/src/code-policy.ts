/**
 * `devices activate --code-policy FILE`: the owner's code policy read and validated, each identity resolved to
 * its certificate (a CA of this store by name; by SHA-256, a `--code-cert` file, a CA or a code signer of the store), and
 * made into the activation's `codeValidation` claim.
 */
import { createHash } from 'node:crypto';
import { CustodyError, decodePEM, type CodeValidationClaim } from '@custody/core';
import { createCodeValidationClaim, parseCodePolicy } from '@custody/core/code-policy';
import type { Store } from '@custody/store';
import { readInputFile } from './context.js';
import { readTrustAnchors } from './bundles.js';

/** What the activation enables: the policy file and the certificate files its hashes name. */
export interface CodePolicyInputs {
  file: string;
  certs: readonly string[];
}

/**
 * The `codeValidation` claim for a policy file, with every certificate it names.
 * @throws ERR_CODE_POLICY_INVALID (file:line: field) for a malformed policy; ERR_CODE_POLICY_CERT naming the policy
 *   file when a store CA or a certificate hash is not found, or a certificate is not of its identity's kind
 */
export async function codeValidationClaim(store: Store, o: CodePolicyInputs): Promise<CodeValidationClaim> {
  const policy = parseCodePolicy(readInputFile(o.file, 'codePolicy').toString('utf8'), o.file);
  const given = new Map<string, Uint8Array>();
  for (const der of readTrustAnchors([...o.certs])) given.set(sha256Hex(der), der);
  const certificates = new Map<string, Uint8Array>();
  for (const id of policy.identities) {
    if (id.storeCA !== undefined) {
      const ca = await store.getCA(id.storeCA);
      if (!ca)
        throw new CustodyError('ERR_CODE_POLICY_CERT', `${o.file}: identity ${id.name}: no CA named "${id.storeCA}" in ${store.location}`, { file: o.file });
      certificates.set(id.name, decodePEM(ca.certificate, ['CERTIFICATE']));
      continue;
    }
    const der = given.get(id.sha256!) ?? (await storeCertByHash(store, id.sha256!));
    if (!der)
      throw new CustodyError(
        'ERR_CODE_POLICY_CERT',
        `${o.file}: identity ${id.name}: no certificate with SHA-256 ${id.sha256} among --code-cert files, this store's CAs or its code signers`,
        { file: o.file },
      );
    certificates.set(id.name, der);
  }
  try {
    return createCodeValidationClaim(policy, certificates);
  } catch (e) {
    throw e instanceof CustodyError ? e.withFile(o.file) : e;
  }
}

/** A certificate of this store by its SHA-256: a CA, or a code signer (`code signer create`). */
async function storeCertByHash(store: Store, hex: string): Promise<Uint8Array | undefined> {
  const held = [...(await store.listCAs()), ...(await store.listParties()).filter((p) => p.role === 'code-signer')];
  for (const record of held) {
    const der = decodePEM(record.certificate, ['CERTIFICATE']);
    if (sha256Hex(der) === hex) return der;
  }
  return undefined;
}

function sha256Hex(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}
