/**
 * Encoding X.501 Names as custody issues them: every attribute in its own RDN (pkijs would group them into one
 * multi-valued RDN), PrintableString where X.520 asks for it (countryName, serialNumber), UTF8String otherwise
 * (RFC 5280 4.1.2.4). Parsing, rendering and comparison live in the one names module, validation/name.ts.
 */
import { CustodyError } from '../errors.js';
import { NAME_ATTRIBUTE_OIDS } from '../asn1/oids.js';
import { isPrintable, oid, printableString, seq, setOf, utf8String } from '../asn1/der.js';

/** Attribute short names a template may use, in the usual order: a subset of the one table, `NAME_ATTRIBUTE_OIDS`. */
export const NAME_ATTRIBUTES: Readonly<Record<string, string>> = Object.fromEntries(
  (['C', 'ST', 'L', 'O', 'OU', 'CN', 'serialNumber'] as const).map((k) => [k, NAME_ATTRIBUTE_OIDS[k]!]),
);

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
