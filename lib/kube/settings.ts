// How every entrypoint finds its cluster.

import { str } from '../config/index.js';

/**
 * NSBACKUP_NAMESPACE (`--namespace`, `-n`) of a command that works in one namespace: a namespace name (an RFC 1123
 * label, at most 63 characters); what it names and where it comes from when unset are the command's own.
 */
export function namespaceSetting(o: { description: string; defaultText: string }) {
  return {
    namespace: str({
      env: 'NSBACKUP_NAMESPACE',
      flag: '--namespace',
      pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
      patternText: 'a namespace name',
      maxLength: 63,
      defaultText: o.defaultText,
      description: o.description,
    }),
  };
}

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
