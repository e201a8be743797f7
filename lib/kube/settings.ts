// How every entrypoint finds its cluster.

import { str } from '../config/index.js';

export const kubeSettings = {
  kubeconfig: str({
    env: 'NSBACKUP_KUBECONFIG',
    flag: '--kubeconfig',
    description:
      'Kubeconfig file to use (one file). Unset: the files of $KUBECONFIG (merged like kubectl: the first file ' +
      'naming an entry wins), then the in-cluster service account, then ~/.kube/config.',
  }),
  kubeContext: str({
    env: 'NSBACKUP_KUBE_CONTEXT',
    flag: '--context',
    description: 'Kubeconfig context to use (default: the current context).',
  }),
};
