/**
 * Certificate templates: the profile of a kind of certificate (root CA, issuing CA, IDevID, party, firmware
 * signer, LDevID) as data. The format is documented in certs-templates/README.md; `parseTemplate`
 * (parse-template.ts, which loads the YAML parser) refuses an unknown field or a wrong type with the file, line
 * and field.
 */
import { CustodyError } from '../errors.js';
import { OID } from '../asn1/oids.js';
import type { CurveName } from '../crypto/provider.js';

export const TEMPLATE_KINDS = ['root-ca', 'issuing-ca', 'idevid', 'party', 'firmware-signer', 'code-signer', 'ldevid'] as const;
export type TemplateKind = (typeof TEMPLATE_KINDS)[number];

export const KEY_USAGES = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement', 'keyCertSign', 'cRLSign'] as const;
export type KeyUsageName = (typeof KEY_USAGES)[number];

/** Extended key usages a template may name; a dotted OID is accepted as well. */
export const EKU_NAMES: Readonly<Record<string, string>> = {
  serverAuth: OID.serverAuth,
  clientAuth: OID.clientAuth,
  codeSigning: OID.codeSigning,
  custodyAttestation: OID.custodyAttestation,
};

/** Variables a subject value may use, as `{name}`. */
export const TEMPLATE_VARIABLES = ['name', 'serial', 'model', 'lot', 'organization'] as const;

export interface CertificateTemplate {
  name: string;
  kind: TemplateKind;
  description: string;
  keyAlgorithm: CurveName;
  /** Subject attributes in order, each its own RDN; values may hold `{variable}`s. */
  subject: Array<[string, string]>;
  /** Either a lifetime in days or the 802.1AR "no well-defined expiration" 99991231235959Z. */
  validity: { days: number } | { noExpiry: true };
  basicConstraints?: { ca: boolean; pathLen?: number; critical: boolean };
  keyUsage?: { usages: KeyUsageName[]; critical: boolean };
  extendedKeyUsage?: { oids: string[]; critical: boolean };
  subjectKeyIdentifier: boolean;
  /**
   * How the subject's key identifier is derived: absent, RFC 7093 method 1 (SHA-256 of the subjectPublicKey bits,
   * leftmost 160 bits); `sha1`, RFC 5280 4.2.1.2 method 1 (their SHA-1), which the Linux kernel's IMA needs of a
   * code signer: it finds the key of a signature by the last 4 bytes of the SKI, which ima-evm-utils computes
   * from that SHA-1.
   */
  keyIdentifierMethod?: 'sha1';
  authorityKeyIdentifier: boolean;
  /** RFC 4108 hardwareModuleName otherName SAN: hwType OID, hwSerialNum = the device serial. */
  hardwareModuleName?: { hwType: string };
}

/** Fills `{variable}`s of the subject; a variable without a value is an error naming the template. */
export function expandSubject(template: CertificateTemplate, vars: Readonly<Record<string, string | undefined>>): Array<[string, string]> {
  return template.subject.map(([k, v]) => [
    k,
    v.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = vars[name];
      if (value === undefined || value === '')
        throw new CustodyError('ERR_TEMPLATE_VARIABLE', `template "${template.name}": subject.${k} needs a value for {${name}}`);
      return value;
    }),
  ]);
}
