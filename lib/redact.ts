// Secrets (passwords, tokens, keys, kubeconfig contents, Secret data) must never reach a log line or an error
// message. Every string that leaves the process through the logger passes through one Redactor.
//
// Short secrets: a registered value of 4 or more characters is masked wherever it occurs, also inside words. A value
// of 1 to 3 characters is masked only where it stands alone (the whole string, or between characters that are not
// letters or digits: `password abc`, `"abc"`, `:abc@`): masking it inside words would mangle ordinary text ("a"
// everywhere) and, worse, the masks would show a reader which letters the secret is. Such a password still never
// appears as a value or a word of its own. Only a value of blanks alone is never masked.

const MASK = '[redacted]';
/** At least this long: masked inside words too. Shorter: masked where it stands alone. */
const MASK_INSIDE_WORDS = 4;
/** Field names whose values are secret whatever they contain. */
const SECRET_KEY =
  /(pass(word)?|pwd|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|credential|authorization|encryption[-_]?key|kubeconfig)$/i;
/** The `type` of a Kubernetes Secret, for Secrets without `kind` (the items of a SecretList carry none). */
const SECRET_TYPE = /^(Opaque|kubernetes\.io\/.+|bootstrap\.kubernetes\.io\/.+)$/;
const MAX_DEPTH = 8;

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export class Redactor {
  /** Values masked inside words too, longest first (a secret that contains another is masked whole). */
  private long: string[] = [];
  private readonly short = new Set<string>();
  /** Short values, each between non-alphanumeric characters (or the ends of the string). */
  private shortPattern?: RegExp;

  /** Registers a secret value (any length from 1), and its base64 form. */
  add(value: string | undefined | null): void {
    // Blank values are not masked: a mask on every space would hide the log, not a secret.
    if (!value || !value.trim()) return;
    // The same secret often travels base64-encoded (Secret data, basic auth headers).
    for (const v of [value, Buffer.from(value, 'utf8').toString('base64')]) {
      if (v.length >= MASK_INSIDE_WORDS) {
        if (!this.long.includes(v)) this.long = [...this.long, v].sort((a, b) => b.length - a.length);
      } else if (!this.short.has(v)) {
        this.short.add(v);
        const alternatives = [...this.short].sort((a, b) => b.length - a.length).map(escapeRegExp);
        this.shortPattern = new RegExp(
          `(?<![\\p{L}\\p{N}])(?:${alternatives.join('|')})(?![\\p{L}\\p{N}])`,
          'gu',
        );
      }
    }
  }

  /** Masks every registered secret in a string. */
  text(s: string): string {
    let out = s;
    for (const v of this.long) if (out.includes(v)) out = out.split(v).join(MASK);
    if (this.shortPattern) out = out.replace(this.shortPattern, MASK);
    return out;
  }

  /** Deep copy with secret-named fields and Secret data masked, and registered secrets removed from strings. */
  value(v: unknown, depth = 0, inSecretList = false): unknown {
    if (typeof v === 'string') return this.text(v);
    if (v instanceof Error) return this.text(v.message);
    if (v === null || typeof v !== 'object') return v;
    // Deeper than any log field needs: not walked, so not shown (it could hold anything).
    if (depth > MAX_DEPTH) return '[nested too deep]';
    if (Array.isArray(v)) return v.map((x) => this.value(x, depth + 1, inSecretList));
    const obj = v as Record<string, unknown>;
    const isSecret =
      obj.kind === 'Secret' ||
      inSecretList ||
      (typeof obj.type === 'string' && SECRET_TYPE.test(obj.type) && ('data' in obj || 'stringData' in obj));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(obj)) {
      if (SECRET_KEY.test(k) || (isSecret && (k === 'data' || k === 'stringData'))) {
        out[k] = x === undefined || x === null || x === '' ? x : MASK;
      } else {
        // Kubernetes Secrets: never log data or stringData, also of the items of a list of them.
        out[k] = this.value(x, depth + 1, k === 'items' && obj.kind === 'SecretList');
      }
    }
    return out;
  }
}
