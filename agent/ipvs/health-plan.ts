import type { RealServerNote } from '../health/adjust.js';
import type { VirtualService } from './table.js';

/** What the ipvs module's read learns from the director's health checker (ModuleContext.health). */
export interface HealthObserved {
  /** The declared services adjusted by health: the desired table. */
  services: VirtualService[];
  /** One per declared real server (and sorry server): why its weight is what it is. */
  notes: RealServerNote[];
  /** The checker's source for this task (healthSource). */
  source: string;
  /** The checker already runs exactly these arguments. */
  configured: boolean;
}

/** Real servers that health (or a drain, or quorum) keeps off their declared weight. */
function moved(notes: readonly RealServerNote[]): RealServerNote[] {
  return notes.filter((n) => n.sorry || n.weight !== n.declaredWeight);
}

function weightText(n: RealServerNote): string {
  if (n.sorry) return 'weight 1';
  return n.weight === null ? `out of the table (declared weight ${n.declaredWeight})` : `weight ${n.weight} (declared ${n.declaredWeight})`;
}

/**
 * Comment lines for both sides of the diff, so that a weight the checker set reads as health
 * (`down (HTTP 503)`) and not as a change: the same text before and after.
 */
export function healthLabels(notes: readonly RealServerNote[]): string {
  return moved(notes)
    .map((n) => `# ${n.service} ${n.realServer}: ${n.note}, ${weightText(n)}\n`)
    .join('');
}

/** One line for the task's message: `health: 172.25.7.3:80 down (HTTP 503)`. */
export function healthSummary(notes: readonly RealServerNote[]): string {
  const m = moved(notes);
  return m.length ? `health: ${m.map((n) => `${n.realServer} ${n.note}`).join(', ')}` : '';
}
