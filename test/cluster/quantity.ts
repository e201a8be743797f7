// Kubernetes resource quantities ("10Gi", "500M", "1.5G") to bytes, for restoreSize and PV capacity: the
// product's own parser (lib/resources/quantity.ts), so the two never read a size differently.
import { parseQuantity } from '../../lib/resources/quantity.js';

/** Whole bytes (rounded up, as a volume cannot hold part of one); undefined when absent or not a quantity. */
export function quantityToBytes(q: string | number | undefined): number | undefined {
  if (q === undefined) return undefined;
  if (typeof q === 'number') return q;
  try {
    return Math.ceil(parseQuantity(q));
  } catch {
    return undefined;
  }
}
