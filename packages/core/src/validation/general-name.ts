/**
 * GeneralName (RFC 5280 4.2.1.6):
 *
 *   GeneralName ::= CHOICE {
 *     otherName [0] OtherName, rfc822Name [1] IA5String, dNSName [2] IA5String, x400Address [3] ORAddress,
 *     directoryName [4] Name, ediPartyName [5] EDIPartyName, uniformResourceIdentifier [6] IA5String,
 *     iPAddress [7] OCTET STRING, registeredID [8] OBJECT IDENTIFIER }
 *   OtherName ::= SEQUENCE { type-id OBJECT IDENTIFIER, value [0] EXPLICIT ANY DEFINED BY type-id }
 *
 * Decoding checks the encoding only (IA5 characters, tags); syntax of the names is checked by the validator.
 */
import { CustodyError } from '../errors.js';
import { checkDER, children, readOID, readOne, TAG, type TLV } from '../asn1/der.js';
import { parseName, type ParsedName } from './name.js';

/** The GeneralName forms, by the name RFC 5280 gives them. */
export type GeneralNameKind =
  'otherName' | 'rfc822Name' | 'dNSName' | 'x400Address' | 'directoryName' | 'ediPartyName' | 'uniformResourceIdentifier' | 'iPAddress' | 'registeredID';

const KINDS: readonly GeneralNameKind[] = [
  'otherName',
  'rfc822Name',
  'dNSName',
  'x400Address',
  'directoryName',
  'ediPartyName',
  'uniformResourceIdentifier',
  'iPAddress',
  'registeredID',
];

/** One decoded GeneralName; `raw` is its whole encoding. */
export type GeneralName =
  | { readonly kind: 'rfc822Name' | 'dNSName' | 'uniformResourceIdentifier'; readonly value: string; readonly raw: Uint8Array }
  | { readonly kind: 'iPAddress'; readonly bytes: Uint8Array; readonly raw: Uint8Array }
  | { readonly kind: 'directoryName'; readonly name: ParsedName; readonly raw: Uint8Array }
  | { readonly kind: 'otherName'; readonly typeId: string; readonly value: Uint8Array; readonly raw: Uint8Array }
  | { readonly kind: 'registeredID'; readonly oid: string; readonly raw: Uint8Array }
  | { readonly kind: 'x400Address' | 'ediPartyName'; readonly raw: Uint8Array };

function bad(what: string): CustodyError {
  return new CustodyError('ERR_CERT_PARSE', `GeneralName: ${what}`);
}

function ia5(v: Uint8Array): string {
  let s = '';
  for (const b of v) {
    if (b > 0x7f) throw bad('non-IA5 character');
    s += String.fromCharCode(b);
  }
  return s;
}

/** Decodes one GeneralName TLV. Throws ERR_CERT_PARSE on malformed input. */
export function parseGeneralName(t: TLV): GeneralName {
  const cls = t.tag & 0xc0;
  const n = t.tag & 0x1f;
  const constructed = (t.tag & 0x20) !== 0;
  if (cls !== 0x80 || n > 8) throw bad(`unexpected tag 0x${t.tag.toString(16)}`);
  const kind = KINDS[n]!;
  const wantConstructed = n === 0 || n === 3 || n === 4 || n === 5;
  if (constructed !== wantConstructed) throw bad(`${kind} has the wrong form`);
  switch (kind) {
    case 'rfc822Name':
    case 'dNSName':
    case 'uniformResourceIdentifier':
      return { kind, value: ia5(t.value), raw: t.raw };
    case 'iPAddress':
      return { kind, bytes: t.value, raw: t.raw };
    case 'directoryName':
      return { kind, name: parseName(readOne(t.value).raw), raw: t.raw };
    case 'registeredID':
      return { kind, oid: readOID({ tag: TAG.OID, value: t.value, raw: t.raw }), raw: t.raw };
    case 'otherName': {
      const parts = children(t.value);
      if (parts.length !== 2 || parts[1]!.tag !== 0xa0) throw bad('otherName needs a type-id and an [0] value');
      checkDER(readOne(parts[1]!.value).raw);
      return { kind, typeId: readOID(parts[0]!), value: parts[1]!.value, raw: t.raw };
    }
    default:
      return { kind, raw: t.raw };
  }
}

/** Decodes `GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName`. Throws ERR_CERT_PARSE. */
export function parseGeneralNames(der: Uint8Array): GeneralName[] {
  const names = children(readOne(der, TAG.SEQUENCE).value).map(parseGeneralName);
  if (names.length === 0) throw bad('empty GeneralNames');
  return names;
}
