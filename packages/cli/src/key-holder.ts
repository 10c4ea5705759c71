/**
 * What `parties create`, `code signer create` and `firmware signer create` share: the flags that name a new key
 * holder under a CA of the store (its key a new file, or in a PKCS#11 token), and the run that turns them into the
 * app's creation options. Each command keeps its own summary, defaults and use case.
 */
import { tokenKeyChoice, type CreatePartyOptions } from '@custody/app/ca';
import { keyProtection, loadTemplate, now, openStore, readPassphrase, templatesDir } from '@custody/app/context';
import type { Store } from '@custody/store/registry';
import { flagSpecs, PASSPHRASE_FLAGS, STORE_FLAG, TEMPLATES_FLAG } from './flag-spec.js';

/** The flags of a new key holder: `what` names it in the help ("party", "signer"), `template` is the default. */
export function keyHolderFlags(what: string, template: string, organization: { required: boolean }) {
  return flagSpecs({
    ...STORE_FLAG,
    name: { type: 'string', description: `name of the ${what} (also its CN)`, required: true },
    ca: { type: 'string', description: 'name of the issuing CA in the store', required: true },
    organization: organization.required
      ? { type: 'string', description: 'subject O', required: true }
      : { type: 'string', description: 'subject O (default: the name)' },
    template: { type: 'string', description: 'template name or .yaml path', default: template },
    key: { type: 'string', description: `the ${what} key: a pkcs11: URI of a key already in a token (instead of a new key file)` },
    'key-store': {
      type: 'string',
      description: `generate the ${what} key in a PKCS#11 token: a pkcs11: URI with token= and object= (sensitive, never extractable)`,
    },
    ...TEMPLATES_FLAG,
    ...PASSPHRASE_FLAGS,
  });
}

/** The parsed values of `keyHolderFlags`. */
export interface KeyHolderFlags {
  store: string;
  keys?: string | undefined;
  name: string;
  ca: string;
  organization?: string | undefined;
  template: string;
  key?: string | undefined;
  'key-store'?: string | undefined;
  templates?: string | undefined;
  'passphrase-file'?: string | undefined;
  'no-encrypt': boolean;
  insecure: boolean;
}

/**
 * Opens the store and calls `create` with the creation options the flags give, then closes the store.
 * @throws what `create`, the template loader and the passphrase and key options throw
 */
export async function createKeyHolder<R>(flags: KeyHolderFlags, create: (store: Store, o: CreatePartyOptions) => Promise<R>): Promise<R> {
  const template = await loadTemplate(templatesDir(flags.templates), flags.template);
  const passphrase = readPassphrase(flags['passphrase-file']);
  const tokenKey = tokenKeyChoice(flags.key, flags['key-store']);
  // A key in a token has no file to encrypt; the passphrase may still open the issuer's key file.
  const protection = tokenKey ? undefined : keyProtection(passphrase, flags['no-encrypt'], flags.insecure);
  const store = await openStore(flags.store, flags.keys);
  try {
    return await create(store, {
      name: flags.name,
      ca: flags.ca,
      template,
      organization: flags.organization ?? flags.name,
      ...(protection ? { protection } : {}),
      ...(tokenKey ? { tokenKey } : {}),
      passphrase,
      now: now(),
    });
  } finally {
    await store.close();
  }
}

/** The line a command prints for a new key holder. */
export function createdLine(what: string, holder: { name: string; spkiSha256: string; key?: { type: string; uri?: string } | undefined }, ca: string): string {
  const token = holder.key?.type === 'pkcs11' ? `, key in the token: ${holder.key.uri}` : '';
  return `created ${what} "${holder.name}" (key ${holder.spkiSha256.slice(0, 16)}...) under "${ca}"${token}`;
}
