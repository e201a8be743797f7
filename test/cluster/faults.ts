// Fault injection rules: which request fails, how, and how many times.

export interface FaultRule {
  /** Kubernetes verb (get, list, create, update, patch, delete, deletecollection, watch, exec); any if unset. */
  verb?: string;
  /** Substring of the URL path, or a RegExp tested against it; any if unset. */
  path?: string | RegExp;
  /** Answer with this HTTP status (a Status body); 429 when retryAfterSeconds is set and status is not. */
  status?: number;
  /** How many matching requests the rule applies to; unlimited if unset. */
  times?: number;
  retryAfterSeconds?: number;
  /** Latency added before the request is handled (or failed). */
  delayMs?: number;
  /** Destroy the connection without an answer. */
  drop?: boolean;
}

export interface FaultDecision {
  delayMs: number;
  status?: number;
  retryAfterSeconds?: number;
  drop: boolean;
}

interface ActiveRule extends FaultRule {
  used: number;
}

export class Faults {
  private rules: ActiveRule[] = [];

  add(rule: FaultRule): void {
    this.rules.push({ ...rule, used: 0 });
  }

  clear(): void {
    this.rules = [];
  }

  /** The first rule still in force that matches; consumes one of its `times`. */
  decide(verb: string, path: string): FaultDecision | undefined {
    const rule = this.rules.find(
      (r) =>
        (r.times === undefined || r.used < r.times) &&
        (r.verb === undefined || r.verb === verb) &&
        (r.path === undefined || (typeof r.path === 'string' ? path.includes(r.path) : r.path.test(path))),
    );
    if (!rule) return undefined;
    rule.used += 1;
    const status = rule.status ?? (rule.retryAfterSeconds !== undefined ? 429 : undefined);
    return {
      delayMs: rule.delayMs ?? 0,
      status,
      retryAfterSeconds: rule.retryAfterSeconds,
      drop: rule.drop ?? false,
    };
  }
}
