/** `firmware list` as lines of text: one release a line, then its image. */
import type { ReleaseListing } from '@custody/app/firmware';

/** The releases as lines of text, and the withdrawal list they were judged against. */
export function formatReleases(releases: readonly ReleaseListing[], withdrawals: { number: number; nextUpdate: string } | null): string[] {
  if (releases.length === 0) return ['no releases recorded'];
  const lines: string[] = [];
  for (const r of releases) {
    lines.push(
      `${r.version.padEnd(16)} counter ${String(r.securityCounter).padEnd(6)} ${r.models.join(',')}  expires ${r.expires}${r.withdrawn ? '  [withdrawn]' : ''}`,
    );
    lines.push(`  ${r.hash}  image ${r.imageName} (${r.length} bytes, SHA-256 ${r.imageSha256.slice(0, 16)}...)  signer ${r.signer}`);
  }
  lines.push(withdrawals ? `withdrawal list ${withdrawals.number}, next update ${withdrawals.nextUpdate}` : 'no withdrawal list issued');
  return lines;
}
