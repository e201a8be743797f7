// Secrets (passwords, tokens, keys, kubeconfig contents, Secret data) must never reach a log line or an error
// message. Every string that leaves the process through the logger passes through one Redactor.

const MASK = '[redacted]';
/** Field names whose values are secret whatever they contain. */
const SECRET_KEY =
  /(pass(word)?|pwd|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|credential|authorization|encryption[-_]?key|kubeconfig)$/i;

export class Redactor {
  private readonly values = new Set<string>();

  /** Registers a secret value; short values are refused because masking them would mask ordinary text. */
  add(value: string | undefined | null): void {
    if (!value || value.length < 4) return;
    this.values.add(value);
    // The same secret often travels base64-encoded (Secret data, basic auth headers).
    this.values.add(Buffer.from(value, 'utf8').toString('base64'));
  }

  /** Masks every registered secret in a string. */
  text(s: string): string {
    let out = s;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join(MASK);
    return out;
  }

  /** Deep copy with secret-named fields masked and registered secrets removed from strings. */
  value(v: unknown, depth = 0): unknown {
    if (typeof v === 'string') return this.text(v);
    if (v instanceof Error) return this.text(v.message);
    if (v === null || typeof v !== 'object' || depth > 8) return v;
    if (Array.isArray(v)) return v.map((x) => this.value(x, depth + 1));
    // Kubernetes Secrets: never log data or stringData.
    const obj = v as Record<string, unknown>;
    const isSecret = obj.kind === 'Secret';
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(obj)) {
      if (SECRET_KEY.test(k) || (isSecret && (k === 'data' || k === 'stringData'))) {
        out[k] = x === undefined || x === null || x === '' ? x : MASK;
      } else {
        out[k] = this.value(x, depth + 1);
      }
    }
    return out;
  }
}
