/**
 * PKCS #11 URIs (RFC 7512): which module, token and object hold a key, and where its PIN comes from.
 *
 *   pk11-URI   = "pkcs11:" pk11-path [ "?" pk11-query ]                                     (RFC 7512 2.3)
 *   pk11-path  = [ pk11-pattr *(";" pk11-pattr) ]
 *   pk11-query = [ pk11-qattr *("&" pk11-qattr) ]
 *   pk11-pchar = unreserved / ":" "[" "]" "@" "!" "$" "'" "(" ")" "*" "+" "," "=" "&" / pct-encoded
 *   pk11-qchar = unreserved / ":" "[" "]" "@" "!" "$" "'" "(" ")" "*" "+" "," "=" "/" "?" "|" / pct-encoded
 *
 * Strict: a character outside those sets, a bad percent escape, a repeated attribute, an unknown standard
 * attribute, a text value that is not UTF-8, a pin-source that is not a local file is refused. Nothing is
 * matched or opened here: this module is pure.
 */
import { CustodyError } from '../errors.js';

/** The object classes `type=` names (RFC 7512 2.3). */
export type PKCS11ObjectType = 'public' | 'private' | 'cert' | 'secret-key' | 'data';

/** An attribute the RFC leaves to vendors (`vendor-aaa=value-a`); kept so that a consumer can refuse it. */
export interface PKCS11VendorAttribute {
  readonly name: string;
  readonly value: string;
  readonly component: 'path' | 'query';
}

/** A parsed `pkcs11:` URI. Text values are percent-decoded UTF-8; `id` is the decoded bytes. */
export interface PKCS11URI {
  token?: string;
  manufacturer?: string;
  serial?: string;
  model?: string;
  libraryManufacturer?: string;
  libraryDescription?: string;
  libraryVersion?: { major: number; minor: number };
  slotDescription?: string;
  slotManufacturer?: string;
  slotId?: number;
  object?: string;
  id?: Uint8Array;
  type?: PKCS11ObjectType;
  /** The path of a `pin-source=file:` query attribute (percent-decoded; relative paths stay relative). */
  pinFile?: string;
  /** `pin-value`: only present when the caller allowed it. */
  pinValue?: string;
  moduleName?: string;
  modulePath?: string;
  vendor: PKCS11VendorAttribute[];
}

export interface ParsePKCS11URIOptions {
  /**
   * Accept `pin-value=`. Off by default: a URI is stored in CA and party records and printed in messages, so a
   * PIN inside it leaks wherever the record goes.
   */
  allowPinValue?: boolean;
}

/** Longest URI accepted: far above any real one, and keeps the parser's work bounded. */
export const PKCS11_URI_MAX_LENGTH = 4096;

type TextKey = 'token' | 'manufacturer' | 'serial' | 'model' | 'libraryManufacturer' | 'libraryDescription' | 'slotDescription' | 'slotManufacturer' | 'object';

/** Path attributes holding text. */
const TEXT_ATTRIBUTES: ReadonlyMap<string, TextKey> = new Map([
  ['token', 'token'],
  ['manufacturer', 'manufacturer'],
  ['serial', 'serial'],
  ['model', 'model'],
  ['library-manufacturer', 'libraryManufacturer'],
  ['library-description', 'libraryDescription'],
  ['slot-description', 'slotDescription'],
  ['slot-manufacturer', 'slotManufacturer'],
  ['object', 'object'],
]);

const STANDARD_QUERY: ReadonlySet<string> = new Set(['pin-source', 'pin-value', 'module-name', 'module-path']);

const OBJECT_TYPES: ReadonlySet<string> = new Set(['public', 'private', 'cert', 'secret-key', 'data']);

const UNRESERVED = 'A-Za-z0-9\\-._~';
// Each with its component's separator (";" between path attributes, "&" between query attributes).
const PATH_CHARS = new RegExp(`^(?:[${UNRESERVED}:\\[\\]@!$'()*+,=&;]|%[0-9A-Fa-f]{2})*$`);
const QUERY_CHARS = new RegExp(`^(?:[${UNRESERVED}:\\[\\]@!$'()*+,=/?|&]|%[0-9A-Fa-f]{2})*$`);
/** pk11-v-attr-nm-char: a name the RFC does not define is a vendor's, and vendors' names carry a dash. */
const VENDOR_NAME = /^[A-Za-z0-9_]+-[A-Za-z0-9_-]*$/;

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function uriError(message: string): CustodyError {
  return new CustodyError('ERR_PKCS11_URI', `PKCS#11 URI: ${message}`);
}

/** The bytes of a value whose characters are already checked (so every `%` starts a valid escape). */
function percentDecode(value: string): Uint8Array {
  const out = new Uint8Array(value.length);
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) === 0x25) {
      out[n++] = parseInt(value.slice(i + 1, i + 3), 16);
      i += 2;
    } else {
      out[n++] = value.charCodeAt(i);
    }
  }
  return out.subarray(0, n);
}

function decodeText(name: string, value: string): string {
  try {
    return utf8Decoder.decode(percentDecode(value));
  } catch {
    throw uriError(`${name}: the value is not UTF-8 once percent-decoded`);
  }
}

function decimal(name: string, digits: string, max: number): number {
  if (!/^[0-9]{1,16}$/.test(digits)) throw uriError(`${name}: "${digits}" is not a decimal number`);
  const n = Number(digits);
  if (n > max) throw uriError(`${name}: ${digits} is more than ${max}`);
  return n;
}

/** Splits `name=value`; a missing `=` or an empty name is malformed. */
function splitAttribute(attr: string, component: 'path' | 'query'): [string, string] {
  const eq = attr.indexOf('=');
  if (eq <= 0) throw uriError(`${component} attribute "${attr.slice(0, 64)}" is not name=value`);
  return [attr.slice(0, eq), attr.slice(eq + 1)];
}

function pathAttribute(uri: PKCS11URI, name: string, value: string): void {
  const key = TEXT_ATTRIBUTES.get(name);
  if (key) {
    // No length bound beyond the URI's: RFC 7512's own examples hold a 34-byte token label, longer than the
    // 32-byte field it is compared with; such a URI parses and then matches no token.
    uri[key] = decodeText(name, value);
    return;
  }
  switch (name) {
    case 'id':
      uri.id = percentDecode(value).slice();
      return;
    case 'type':
      if (!OBJECT_TYPES.has(value)) throw uriError(`type: "${value.slice(0, 32)}" is not one of public, private, cert, secret-key, data`);
      uri.type = value as PKCS11ObjectType;
      return;
    case 'slot-id':
      uri.slotId = decimal(name, value, Number.MAX_SAFE_INTEGER);
      return;
    case 'library-version': {
      const m = /^([0-9]+)(?:\.([0-9]+))?$/.exec(value);
      if (!m) throw uriError(`library-version: "${value.slice(0, 32)}" is not MAJOR[.MINOR]`);
      uri.libraryVersion = { major: decimal(name, m[1]!, 255), minor: m[2] === undefined ? 0 : decimal(name, m[2], 255) };
      return;
    }
    default:
      vendorAttribute(uri, name, value, 'path');
  }
}

function vendorAttribute(uri: PKCS11URI, name: string, value: string, component: 'path' | 'query'): void {
  if (!VENDOR_NAME.test(name)) throw uriError(`unknown ${component} attribute "${name.slice(0, 64)}"`);
  uri.vendor.push({ name, value: decodeText(name, value), component });
}

/** `pin-source`: a `file:` URI only (RFC 7512 leaves the scheme open; a command or a prompt is refused here). */
function pinFile(value: string): string {
  const source = decodeText('pin-source', value);
  if (!source.startsWith('file:')) throw uriError('pin-source: only file: sources are accepted (pin-source=file:/path/to/pin)');
  let path = source.slice('file:'.length);
  // file:///p and file://localhost/p name a local path; file://host/p names another machine's file.
  if (path.startsWith('//')) {
    const slash = path.indexOf('/', 2);
    const host = slash < 0 ? path.slice(2) : path.slice(2, slash);
    if (slash < 0 || (host !== '' && host !== 'localhost')) throw uriError('pin-source: a file: source must name a local file (file:/path or file:///path)');
    path = path.slice(slash);
  }
  if (path === '') throw uriError('pin-source: the file: source names no file');
  if (path.includes('\0')) throw uriError('pin-source: the file name holds a NUL byte');
  return path;
}

function queryAttribute(uri: PKCS11URI, name: string, value: string, options: ParsePKCS11URIOptions): void {
  switch (name) {
    case 'pin-source':
      uri.pinFile = pinFile(value);
      return;
    case 'pin-value':
      if (!options.allowPinValue) {
        throw uriError('pin-value puts the PIN in the URI, which is recorded and printed; give pin-source=file:... or set CUSTODY_PKCS11_PIN');
      }
      uri.pinValue = decodeText(name, value);
      return;
    case 'module-name':
    case 'module-path': {
      if (value === '') throw uriError(`${name}: empty`);
      const decoded = decodeText(name, value);
      if (decoded.includes('\0')) throw uriError(`${name}: holds a NUL byte`);
      if (name === 'module-name') uri.moduleName = decoded;
      else uri.modulePath = decoded;
      return;
    }
    default:
      vendorAttribute(uri, name, value, 'query');
  }
}

/**
 * Parses an RFC 7512 `pkcs11:` URI.
 * @throws ERR_PKCS11_URI when the text is not a well-formed PKCS#11 URI custody accepts (bad input, exit 3);
 *   messages never repeat a `pin-value`
 */
export function parsePKCS11URI(text: string, options: ParsePKCS11URIOptions = {}): PKCS11URI {
  if (typeof text !== 'string') throw new TypeError('parsePKCS11URI takes a string');
  if (text.length > PKCS11_URI_MAX_LENGTH) throw uriError(`${text.length} characters, more than the ${PKCS11_URI_MAX_LENGTH} accepted`);
  // The scheme is case-insensitive (RFC 3986 3.1); attribute names are not.
  if (text.slice(0, 7).toLowerCase() !== 'pkcs11:') throw uriError('does not start with "pkcs11:"');
  const rest = text.slice(7);
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? undefined : rest.slice(q + 1);
  if (!PATH_CHARS.test(path)) throw uriError('the path holds a character that must be percent-encoded (or a bad % escape)');
  if (query !== undefined && !QUERY_CHARS.test(query)) throw uriError('the query holds a character that must be percent-encoded (or a bad % escape)');

  const uri: PKCS11URI = { vendor: [] };
  const seen = new Set<string>();
  if (path !== '') {
    for (const attr of path.split(';')) {
      const [name, value] = splitAttribute(attr, 'path');
      if (seen.has(name)) throw uriError(`path attribute "${name}" appears twice`);
      seen.add(name);
      pathAttribute(uri, name, value);
    }
  }
  if (query !== undefined && query !== '') {
    const seenQuery = new Set<string>();
    for (const attr of query.split('&')) {
      const [name, value] = splitAttribute(attr, 'query');
      // Vendors' query attributes may repeat (RFC 7512 2.3); the standard ones may not.
      if (seenQuery.has(name) && STANDARD_QUERY.has(name)) throw uriError(`query attribute "${name}" appears twice`);
      seenQuery.add(name);
      queryAttribute(uri, name, value, options);
    }
  }
  return uri;
}

/** Whether a string is meant as a PKCS#11 URI (its scheme), whatever its validity: for choosing a parser. */
export function isPKCS11URI(text: string): boolean {
  return typeof text === 'string' && text.slice(0, 7).toLowerCase() === 'pkcs11:';
}

const PATH_SAFE = /[A-Za-z0-9\-._~:[\]@!$'()*+,=&]/;
const QUERY_SAFE = /[A-Za-z0-9\-._~:[\]@!$'()*+,=/?|]/;
const utf8Encoder = new TextEncoder();

function percentEncode(value: string | Uint8Array, safe: RegExp): string {
  const bytes = typeof value === 'string' ? utf8Encoder.encode(value) : value;
  let out = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    out += b < 0x80 && safe.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Writes a URI in the order RFC 7512 lists the attributes, percent-encoding what the grammar requires and
 * every byte of `id`. `pinValue` is never written: a URI custody writes is recorded.
 */
export function encodePKCS11URI(uri: Omit<PKCS11URI, 'vendor' | 'pinValue'> & { vendor?: readonly PKCS11VendorAttribute[] }): string {
  const path: string[] = [];
  const text = (name: string, v: string | undefined) => {
    if (v !== undefined) path.push(`${name}=${percentEncode(v, PATH_SAFE)}`);
  };
  text('library-manufacturer', uri.libraryManufacturer);
  text('library-description', uri.libraryDescription);
  if (uri.libraryVersion) path.push(`library-version=${uri.libraryVersion.major}.${uri.libraryVersion.minor}`);
  text('slot-manufacturer', uri.slotManufacturer);
  text('slot-description', uri.slotDescription);
  if (uri.slotId !== undefined) path.push(`slot-id=${uri.slotId}`);
  text('manufacturer', uri.manufacturer);
  text('model', uri.model);
  text('serial', uri.serial);
  text('token', uri.token);
  text('object', uri.object);
  if (uri.id) path.push(`id=${Array.from(uri.id, (b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('')}`);
  if (uri.type) path.push(`type=${uri.type}`);
  const query: string[] = [];
  for (const v of uri.vendor ?? [])
    (v.component === 'path' ? path : query).push(`${v.name}=${percentEncode(v.value, v.component === 'path' ? PATH_SAFE : QUERY_SAFE)}`);
  if (uri.pinFile !== undefined) query.push(`pin-source=${percentEncode(`file:${uri.pinFile}`, QUERY_SAFE)}`);
  if (uri.moduleName !== undefined) query.push(`module-name=${percentEncode(uri.moduleName, QUERY_SAFE)}`);
  if (uri.modulePath !== undefined) query.push(`module-path=${percentEncode(uri.modulePath, QUERY_SAFE)}`);
  return `pkcs11:${path.join(';')}${query.length > 0 ? `?${query.join('&')}` : ''}`;
}
