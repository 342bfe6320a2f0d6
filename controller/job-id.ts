/**
 * A job is one host's task list of one play: its id is the run's id and the position of the
 * play's first task in the host's whole list, so results map back onto the run's numbering.
 */
export function jobId(run: string, offset: number): string {
  return `${run}.${offset}`;
}

/** The offset a job id names; undefined for an id this controller did not make for that run. */
export function jobOffset(run: string, job: string): number | undefined {
  if (!job.startsWith(`${run}.`)) return undefined;
  const rest = job.slice(run.length + 1);
  return /^\d{1,9}$/.test(rest) ? Number(rest) : undefined;
}
