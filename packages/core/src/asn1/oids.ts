/** Object identifiers custody uses, by name. */
export const OID = {
  // algorithms
  ecPublicKey: '1.2.840.10045.2.1',
  prime256v1: '1.2.840.10045.3.1.7',
  secp384r1: '1.3.132.0.34',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  ecdsaWithSHA384: '1.2.840.10045.4.3.3',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  // names (X.520)
  commonName: '2.5.4.3',
  serialNumber: '2.5.4.5',
  countryName: '2.5.4.6',
  localityName: '2.5.4.7',
  stateOrProvinceName: '2.5.4.8',
  organizationName: '2.5.4.10',
  organizationalUnitName: '2.5.4.11',
  streetAddress: '2.5.4.9',
  domainComponent: '0.9.2342.19200300.100.1.25',
  userId: '0.9.2342.19200300.100.1.1',
  emailAddress: '1.2.840.113549.1.9.1',
  // certificate extensions (RFC 5280 4.2)
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  crlNumber: '2.5.29.20',
  crlReason: '2.5.29.21',
  nameConstraints: '2.5.29.30',
  crlDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  policyMappings: '2.5.29.33',
  authorityKeyIdentifier: '2.5.29.35',
  policyConstraints: '2.5.29.36',
  extKeyUsage: '2.5.29.37',
  inhibitAnyPolicy: '2.5.29.54',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  // extended key usages
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  anyExtendedKeyUsage: '2.5.29.37.0',
  /**
   * custody attestation signing. Arc under the IANA Private Enterprise Number space used by the project for
   * experiments; registered arcs would replace it before 1.0.
   */
  custodyAttestation: '1.3.6.1.4.1.58270.1.1',
  // RFC 4108 hardwareModuleName otherName
  hardwareModuleName: '1.3.6.1.5.5.7.8.4',
  // CMS (RFC 5652)
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  // PKCS#10
  extensionRequest: '1.2.840.113549.1.9.14',
} as const;

/**
 * The one table of name attribute short names, in the order templates list them. RFC 4514 section 3 names CN, L,
 * ST, O, OU, C, STREET, DC and UID; serialNumber and emailAddress are the names OpenSSL prints and custody's
 * templates use. Every other attribute type is written as its dotted OID (RFC 4514 2.3).
 */
export const NAME_ATTRIBUTE_OIDS: Readonly<Record<string, string>> = {
  C: OID.countryName,
  ST: OID.stateOrProvinceName,
  L: OID.localityName,
  STREET: OID.streetAddress,
  O: OID.organizationName,
  OU: OID.organizationalUnitName,
  CN: OID.commonName,
  serialNumber: OID.serialNumber,
  DC: OID.domainComponent,
  UID: OID.userId,
  emailAddress: OID.emailAddress,
};

/** Short name of a name attribute type OID, from `NAME_ATTRIBUTE_OIDS`. */
export const NAME_ATTRIBUTE_SHORT: ReadonlyMap<string, string> = new Map(Object.entries(NAME_ATTRIBUTE_OIDS).map(([k, v]) => [v, k]));
