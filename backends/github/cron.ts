/**
 * GitHub runs scheduled workflows at most every 5 minutes. This reads the minute and hour
 * fields of a 5-field cron line and finds the shortest gap between two runs.
 */

/** The values 0..max-1 a cron field matches, or undefined when it is not plain cron syntax. */
export function cronFieldValues(field: string, max: number): number[] | undefined {
  const out = new Set<number>();
  for (const part of field.split(",")) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) return undefined;
    let lo = 0;
    let hi = max - 1;
    if (m[1] !== "*") {
      lo = Number(m[2]);
      hi = m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? max - 1 : lo;
    }
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (step < 1 || lo > hi || hi >= max) return undefined;
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * The shortest interval in minutes between two runs of `schedule`, or undefined when the
 * line cannot be read (GitHub's own parser then decides).
 * ```ts
 * shortestCronGap("*\/5 * * * *") // 5
 * shortestCronGap("* * * * *") // 1
 * ```
 */
export function shortestCronGap(schedule: string): number | undefined {
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 5) return undefined;
  const minutes = cronFieldValues(fields[0]!, 60);
  const hours = cronFieldValues(fields[1]!, 24);
  if (!minutes || !hours || minutes.length === 0) return undefined;
  let gap = 60;
  for (let i = 1; i < minutes.length; i++) gap = Math.min(gap, minutes[i]! - minutes[i - 1]!);
  // across an hour boundary, when two consecutive hours (or 23 and 0) both run
  const hs = new Set(hours);
  const consecutive = hours.some((h) => hs.has((h + 1) % 24));
  if (consecutive) gap = Math.min(gap, 60 - minutes[minutes.length - 1]! + minutes[0]!);
  return gap;
}
