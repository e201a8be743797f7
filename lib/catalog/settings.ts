// Settings of `nsbackup backups` and `nsbackup describe`: which namespace's backups, in which store, shown how.
import { oneOf, str } from '../config/index.js';
import { kubeSettings } from '../kube/index.js';
import { s3Settings } from '../s3/index.js';
import { clusterNameSetting } from '../export/settings.js';

export const backupsSettings = {
  namespace: str({
    env: 'NSBACKUP_NAMESPACE',
    flag: '--namespace',
    pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    patternText: 'a namespace name',
    defaultText: "the kubeconfig context's namespace",
    description: 'Namespace whose backups to show.',
  }),
  output: oneOf(['table', 'json'] as const, {
    env: 'NSBACKUP_OUTPUT',
    flag: '--output',
    default: 'table',
    description: 'table (or text): for people; json: for scripts.',
  }),
  ...clusterNameSetting,
  ...s3Settings,
  ...kubeSettings,
};
