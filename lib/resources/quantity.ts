/**
 * Kubernetes resource quantities (`10Gi`, `500M`, `1.5T`, `1e9`, `100m`) as numbers, with the grammar of
 * k8s.io/apimachinery/pkg/api/resource: a signed decimal, then a binary (Ki..Ei) or decimal (n, u, m, k..E) suffix
 * or a decimal exponent. Shared by the product (storage sizes) and the API emulator (PVC and snapshot sizes).
 */
const SUFFIXES: Record<string, number> = {
  '': 1,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  m: 1e-3,
  u: 1e-6,
  n: 1e-9,
};

export function parseQuantity(text: string): number {
  const match =
    /^([+-]?\d+(?:\.\d*)?|[+-]?\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m|u|n)?)$/.exec(
      text.trim(),
    );
  if (!match) throw new Error(`not a quantity: "${text}"`);
  const number = Number(match[1] + (match[2] ?? ''));
  return number * SUFFIXES[match[3] ?? ''];
}
