/** The store behind `devices verify`, when there is one. */
import type { Store } from '@custody/store';
import { openStore, storeCacheDir } from './context.js';

/**
 * Opens the verifier's store when the verification needs it (`required`: a challenge response or a party name
 * to check against) or when one exists at `location`: it holds the challenges this verifier issued and remembers
 * the log checkpoints it saw. A store that exists but cannot be opened is an error, not a verification without
 * its memory; no store at all is a verification from files alone (undefined).
 * @throws ERR_STORE_* as `openStore`
 */
export async function openVerifierStore(location: string, required: boolean): Promise<Store | undefined> {
  const present = required || /^postgres(ql)?:\/\//i.test(location) || storeCacheDir(location) !== undefined;
  return present ? openStore(location) : undefined;
}
