/**
 * ISO 8601 durations (`P1Y`, `P90D`, `P2W`, `PT12H`, `P1Y2M3DT4H5M6S`) with whole-number parts, added to dates
 * on the UTC calendar so that `P1M` from 31 January is the end of February, as a reader would expect.
 */

/** A duration as its calendar parts; every part a non-negative integer. */
export interface Duration {
  readonly years: number;
  readonly months: number;
  readonly weeks: number;
  readonly days: number;
  readonly hours: number;
  readonly minutes: number;
  readonly seconds: number;
}

const ISO_DURATION = /^P(?:(\d{1,6})Y)?(?:(\d{1,6})M)?(?:(\d{1,6})W)?(?:(\d{1,6})D)?(?:T(?:(\d{1,6})H)?(?:(\d{1,6})M)?(?:(\d{1,9})S)?)?$/;

/** Parses an ISO 8601 duration; undefined when `text` is not one, or is zero, or has an empty time part. */
export function parseISODuration(text: string): Duration | undefined {
  const m = ISO_DURATION.exec(text);
  if (!m || text.endsWith('T')) return undefined;
  const n = (i: number): number => (m[i] === undefined ? 0 : Number(m[i]));
  const d: Duration = { years: n(1), months: n(2), weeks: n(3), days: n(4), hours: n(5), minutes: n(6), seconds: n(7) };
  return Object.values(d).some((v) => v > 0) ? d : undefined;
}

/** A duration of whole days. */
export function daysDuration(days: number): Duration {
  return { years: 0, months: 0, weeks: 0, days, hours: 0, minutes: 0, seconds: 0 };
}

/** `start + duration` on the UTC calendar (months clamp to the month's last day). */
export function addDuration(start: Date, d: Duration): Date {
  const out = new Date(start.getTime());
  if (d.years !== 0 || d.months !== 0) {
    const day = out.getUTCDate();
    out.setUTCDate(1);
    out.setUTCMonth(out.getUTCMonth() + d.years * 12 + d.months);
    const lastDay = new Date(Date.UTC(out.getUTCFullYear(), out.getUTCMonth() + 1, 0)).getUTCDate();
    out.setUTCDate(Math.min(day, lastDay));
  }
  const ms = (((d.weeks * 7 + d.days) * 24 + d.hours) * 60 + d.minutes) * 60 + d.seconds;
  return new Date(out.getTime() + ms * 1000);
}

/** `P90D` style text of a duration, for messages. */
export function formatDuration(d: Duration): string {
  const date = `${d.years ? `${d.years}Y` : ''}${d.months ? `${d.months}M` : ''}${d.weeks ? `${d.weeks}W` : ''}${d.days ? `${d.days}D` : ''}`;
  const time = `${d.hours ? `${d.hours}H` : ''}${d.minutes ? `${d.minutes}M` : ''}${d.seconds ? `${d.seconds}S` : ''}`;
  return `P${date}${time ? `T${time}` : ''}`;
}
