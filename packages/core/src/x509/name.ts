/**
 * X.501 Names as custody issues them: every attribute in its own RDN (pkijs would group them into one
 * multi-valued RDN), PrintableString where X.520 asks for it (countryName, serialNumber), UTF8String otherwise
 * (RFC 5280 4.1.2.4).
 */
import { CustodyError } from '../errors.js';
import { OID } from '../asn1/oids.js';
import { children, isPrintable, oid, printableString, readOID, seq, setOf, utf8String, TAG, type TLV } from '../asn1/der.js';
import { fromUtf8 } from '../util/bytes.js';

/** Attribute short names a template may use, in the usual order. */
export const NAME_ATTRIBUTES: Readonly<Record<string, string>> = {
  C: OID.countryName,
  ST: OID.stateOrProvinceName,
  L: OID.localityName,
  O: OID.organizationName,
  OU: OID.organizationalUnitName,
  CN: OID.commonName,
  serialNumber: OID.serialNumber,
};

const SHORT_BY_OID: Record<string, string> = Object.fromEntries(Object.entries(NAME_ATTRIBUTES).map(([k, v]) => [v, k]));

/** An ordered list of [short name, value]. */
export type NameSpec = ReadonlyArray<readonly [string, string]>;

/** DER of one AttributeTypeAndValue RDN. */
export function encodeRDN(short: string, value: string): Uint8Array {
  const type = NAME_ATTRIBUTES[short];
  if (!type) throw new TypeError(`unknown name attribute ${short}`);
  const printableOnly = short === 'C' || short === 'serialNumber';
  if (printableOnly && !isPrintable(value)) throw new CustodyError('ERR_NAME_VALUE', `${short} "${value}" is not a PrintableString`);
  if (short === 'C' && value.length !== 2) throw new CustodyError('ERR_NAME_VALUE', `C "${value}" must be a two-letter country code`);
  if (value.length === 0 || value.length > 64) throw new CustodyError('ERR_NAME_VALUE', `${short} must be 1 to 64 characters`);
  return setOf(seq(oid(type), printableOnly ? printableString(value) : utf8String(value)));
}

/** DER Name of `spec`. */
export function encodeName(spec: NameSpec): Uint8Array {
  return seq(...spec.map(([k, v]) => encodeRDN(k, v)));
}

/** Attributes of a DER Name, as [short name or OID, value] in order. Unknown string types are shown as hex. */
export function readName(name: TLV): Array<[string, string]> {
  if (name.tag !== TAG.SEQUENCE) throw new CustodyError('ERR_DER', 'malformed DER: Name is not a SEQUENCE');
  const out: Array<[string, string]> = [];
  for (const rdn of children(name.value)) {
    if (rdn.tag !== TAG.SET) throw new CustodyError('ERR_DER', 'malformed DER: RDN is not a SET');
    for (const atv of children(rdn.value)) {
      const [t, v] = children(atv.value);
      if (!t || !v) throw new CustodyError('ERR_DER', 'malformed DER: AttributeTypeAndValue');
      const type = readOID(t);
      let value: string;
      try {
        value = fromUtf8(v.value);
      } catch {
        value = '#' + Array.from(v.value, (b) => b.toString(16).padStart(2, '0')).join('');
      }
      out.push([SHORT_BY_OID[type] ?? type, value]);
    }
  }
  return out;
}

/** One-line form, `CN=Acme Root,O=Acme` style (RFC 4514 order reversed is not used: issued order). */
export function formatName(attrs: ReadonlyArray<readonly [string, string]>): string {
  return attrs.map(([k, v]) => `${k}=${v.replace(/([,+"\\<>;])/g, '\\$1')}`).join(', ');
}
