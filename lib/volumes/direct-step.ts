// The live claim of a PVC in NSBACKUP_PVC_DATA_DIRECT: read the claim and the namespace's pods, and let
// placement.ts decide where its mover may run. Thin: every decision is in moverPlacement.

import { corePath, isNotFound } from '../kube/index.js';
import type { KubeClient, KubeObject } from '../kube/index.js';
import { moverPlacement } from './placement.js';
import type { Placement } from './placement.js';

export async function livePlacement(kube: KubeClient, namespace: string, pvc: string): Promise<Placement> {
  let claim: KubeObject | undefined;
  try {
    claim = await kube.get(corePath('persistentvolumeclaims', namespace, pvc));
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  // Pods only matter for a claim that exists; listed after it, so a pod started in between is seen.
  const pods = claim ? await kube.listAll(corePath('pods', namespace)) : [];
  return moverPlacement(pvc, claim, pods);
}

/** The line the run logs once per direct PVC: what this copy is and is not. */
export const NOT_POINT_IN_TIME =
  'volume data read from the live claim: not point-in-time (files that change while restic reads them may be ' +
  'copied half-written or not match each other); the database dump is the application-consistent part';
