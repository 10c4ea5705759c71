/** A private key's storage and protection in one line of text (`ca list`, `parties list`). */
import type { KeySummary } from '@custody/app/key-summary';

/** `key: encrypted file keys/acme-root.key.pem`, or the token key's URI and what the token says of it. */
export function formatKey(k: KeySummary): string {
  if (k.storage === 'file') {
    const kind = k.encrypted === true ? 'encrypted file' : k.encrypted === false ? 'UNENCRYPTED file' : 'file (encryption unknown)';
    return `key: ${kind} ${k.file}`;
  }
  if (!k.protection) return `key: PKCS#11 ${k.uri} (protection not recorded)`;
  const p = k.protection;
  const device = k.hardware ? 'hardware token' : 'software token (the module reports no hardware slot)';
  // The verdict first, then the attributes that make it, so a key imported from a file reads as such.
  const verdict = k.neverExtractable ? 'never extractable' : 'NOT never-extractable';
  const facts = [
    p.extractable ? 'extractable' : 'not extractable',
    p.neverExtractable ? 'never extractable' : 'was extractable',
    p.sensitive ? 'sensitive' : 'not sensitive',
    p.alwaysSensitive ? 'always sensitive' : 'was not sensitive',
    p.local ? 'generated in the token' : 'imported into the token',
  ];
  return `key: PKCS#11 ${device}, ${verdict} (${facts.join(', ')}): ${k.uri}`;
}
