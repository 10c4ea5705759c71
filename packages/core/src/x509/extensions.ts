/** DER of the certificate extensions custody issues (RFC 5280 4.2.1). */
import { OID } from '../asn1/oids.js';
import { boolean, explicit, implicitPrimitive, octetString, oid, seq, smallInt, tlv, TAG } from '../asn1/der.js';
import { utf8 } from '../util/bytes.js';
import type { KeyUsageName } from '../templates/template.js';
import { KEY_USAGES } from '../templates/template.js';

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
export function extension(extnID: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? seq(oid(extnID), boolean(true), octetString(value)) : seq(oid(extnID), octetString(value));
}

/** BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL } */
export function basicConstraints(ca: boolean, pathLen: number | undefined, critical: boolean): Uint8Array {
  const parts: Uint8Array[] = [];
  if (ca) parts.push(boolean(true));
  if (ca && pathLen !== undefined) parts.push(smallInt(pathLen));
  return extension(OID.basicConstraints, critical, seq(...parts));
}

/** KeyUsage ::= BIT STRING, named bits in KEY_USAGES order, trailing zero bits dropped (X.690 11.2.2). */
export function keyUsage(usages: readonly KeyUsageName[], critical: boolean): Uint8Array {
  const bits = usages.map((u) => KEY_USAGES.indexOf(u));
  const last = Math.max(...bits);
  const nBytes = Math.floor(last / 8) + 1;
  const bytes = new Uint8Array(nBytes);
  for (const b of bits) bytes[b >> 3]! |= 0x80 >> (b & 7);
  const unused = nBytes * 8 - (last + 1);
  return extension(OID.keyUsage, critical, tlv(TAG.BIT_STRING, Uint8Array.of(unused), bytes));
}

/** ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId */
export function extendedKeyUsage(oids: readonly string[], critical: boolean): Uint8Array {
  return extension(OID.extKeyUsage, critical, seq(...oids.map((o) => oid(o))));
}

/** SubjectKeyIdentifier ::= KeyIdentifier (OCTET STRING) */
export function subjectKeyIdentifier(keyId: Uint8Array): Uint8Array {
  return extension(OID.subjectKeyIdentifier, false, octetString(keyId));
}

/** AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT KeyIdentifier OPTIONAL, ... } */
export function authorityKeyIdentifier(keyId: Uint8Array): Uint8Array {
  return extension(OID.authorityKeyIdentifier, false, seq(implicitPrimitive(0, keyId)));
}

/**
 * SubjectAltName with one otherName: HardwareModuleName ::= SEQUENCE { hwType OBJECT IDENTIFIER,
 * hwSerialNum OCTET STRING } (RFC 4108 5). Built by hand: pkijs mis-encodes otherName on round trip.
 *   GeneralNames ::= SEQUENCE OF GeneralName;  otherName [0] IMPLICIT OtherName;
 *   OtherName ::= SEQUENCE { type-id OBJECT IDENTIFIER, value [0] EXPLICIT ANY }
 */
export function hardwareModuleNameSAN(hwType: string, serial: string): Uint8Array {
  const hmn = seq(oid(hwType), octetString(utf8(serial)));
  const otherName = tlv(0xa0, oid(OID.hardwareModuleName), explicit(0, hmn));
  return extension(OID.subjectAltName, false, seq(otherName));
}
