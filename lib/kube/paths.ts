// API paths of the objects nsbackup touches.

export const enc = encodeURIComponent;

export const corePath = (resource: string, namespace?: string, name?: string): string =>
  `/api/v1${namespace ? `/namespaces/${enc(namespace)}` : ''}/${resource}${name ? `/${enc(name)}` : ''}`;

export const groupPath = (
  group: string,
  version: string,
  resource: string,
  namespace?: string,
  name?: string,
): string =>
  `/apis/${group}/${version}${namespace ? `/namespaces/${enc(namespace)}` : ''}/${resource}${name ? `/${enc(name)}` : ''}`;

export const SNAPSHOT_GROUP = 'snapshot.storage.k8s.io';
export const SNAPSHOT_VERSION = 'v1';

export const volumeSnapshotPath = (namespace?: string, name?: string): string =>
  groupPath(SNAPSHOT_GROUP, SNAPSHOT_VERSION, 'volumesnapshots', namespace, name);

export const volumeSnapshotContentPath = (name?: string): string =>
  groupPath(SNAPSHOT_GROUP, SNAPSHOT_VERSION, 'volumesnapshotcontents', undefined, name);
