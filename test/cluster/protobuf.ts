// Decodes the `application/vnd.kubernetes.protobuf` bodies kubectl sends (it POSTs the Job of
// `kubectl create job --from=cronjob/X` that way, and the objects of its typed generators `kubectl create
// namespace|configmap|secret|serviceaccount|deployment|service|role|rolebinding|clusterrole|clusterrolebinding`)
// into the JSON a JSON client would have sent.
//
// No npm package ships the upstream generated.proto files, so this is a small decoder of our own: a wire-format
// reader plus a table of the message schemas those objects carry. Field numbers are those of upstream
// k8s.io/api/{core,batch,apps,rbac}/v1 and k8s.io/apimachinery/pkg/apis/meta/v1 generated.proto. Each field also records
// how Go's encoding/json treats it, because that is what "the JSON a client would have sent" means: the Go
// structs behind kubectl marshal every non-pointer scalar into protobuf (even when zero), and marshal to JSON
// with `omitempty` rules. A field number missing from the table is refused, never dropped.

export class UnsupportedProtobufError extends Error {
  override name = 'UnsupportedProtobufError';
}

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]); // "k8s\0"

// ---------------------------------------------------------------------------------------------------------
// Wire format

export const WireType = { Varint: 0, Fixed64: 1, LengthDelimited: 2, Fixed32: 5 } as const;

export interface WireField {
  field: number;
  wireType: number;
  /** Varint and fixed values as bigint (two's complement, unsigned); length-delimited as bytes. */
  value: bigint | Buffer;
}

/** Reads one message's fields in order, without any schema. Throws on truncated or malformed input. */
export function readWireFields(buf: Buffer): WireField[] {
  const fields: WireField[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) throw new UnsupportedProtobufError('truncated varint');
      const byte = buf[pos++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, result);
      shift += 7n;
    }
    throw new UnsupportedProtobufError('varint longer than 10 bytes');
  };
  const take = (n: number): Buffer => {
    if (pos + n > buf.length) throw new UnsupportedProtobufError('truncated field');
    const out = buf.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  while (pos < buf.length) {
    const key = varint();
    const field = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (field === 0) throw new UnsupportedProtobufError('field number 0');
    switch (wireType) {
      case WireType.Varint:
        fields.push({ field, wireType, value: varint() });
        break;
      case WireType.Fixed64:
        fields.push({ field, wireType, value: take(8).readBigUInt64LE() });
        break;
      case WireType.LengthDelimited:
        fields.push({ field, wireType, value: take(Number(varint())) });
        break;
      case WireType.Fixed32:
        fields.push({ field, wireType, value: BigInt(take(4).readUInt32LE()) });
        break;
      default:
        throw new UnsupportedProtobufError(`wire type ${wireType} (field ${field}) is not supported`);
    }
  }
  return fields;
}

// ---------------------------------------------------------------------------------------------------------
// Schemas

type Scalar = 'string' | 'bool' | 'int32' | 'int64' | 'bytes';
type Special = 'quantity' | 'time' | 'intOrString' | 'map' | 'map<quantity>' | 'map<bytes>';
/** A scalar or special type, or the name of a message in SCHEMAS. */
type FieldType = Scalar | Special | string;

/**
 * How Go's encoding/json writes the field:
 * - 'required': no omitempty; written even when zero (a missing list or map is null).
 * - 'omitempty': a non-pointer value, omitted when zero (false, 0, '', empty list or map).
 * - 'pointer': written exactly when present in the protobuf (a pointer: nil is absent, anything else is set).
 * - 'struct': a non-pointer struct, which encoding/json always writes, even with omitempty.
 * - 'inline': an embedded struct whose fields appear in the parent (`json:",inline"`).
 */
type JsonMode = 'required' | 'omitempty' | 'pointer' | 'struct' | 'inline';

interface FieldSpec {
  json: string;
  type: FieldType;
  repeated: boolean;
  mode: JsonMode;
}

// Compact table syntax: 'name type' with suffixes on the type: `[]` repeated, and a mode marker
// (none = required, `?` omitempty, `*` pointer, `!` struct, `...` inline).
function message(fields: Record<number, string>): Map<number, FieldSpec> {
  const specs = new Map<number, FieldSpec>();
  for (const [num, text] of Object.entries(fields)) {
    const [json, rawType] = text.split(' ');
    let type = rawType;
    let mode: JsonMode = 'required';
    if (type.endsWith('...')) [type, mode] = [type.slice(0, -3), 'inline'];
    else if (type.endsWith('?')) [type, mode] = [type.slice(0, -1), 'omitempty'];
    else if (type.endsWith('*')) [type, mode] = [type.slice(0, -1), 'pointer'];
    else if (type.endsWith('!')) [type, mode] = [type.slice(0, -1), 'struct'];
    const repeated = type.endsWith('[]');
    if (repeated) type = type.slice(0, -2);
    specs.set(Number(num), { json, type, repeated, mode });
  }
  return specs;
}

// Field numbers from upstream generated.proto; json names and modes from the Go types' json tags.
const SCHEMAS: Record<string, Map<number, FieldSpec>> = {
  // k8s.io/apimachinery/pkg/apis/meta/v1
  ObjectMeta: message({
    1: 'name string?',
    2: 'generateName string?',
    3: 'namespace string?',
    4: 'selfLink string?',
    5: 'uid string?',
    6: 'resourceVersion string?',
    7: 'generation int64?',
    8: 'creationTimestamp time!',
    9: 'deletionTimestamp time*',
    10: 'deletionGracePeriodSeconds int64*',
    11: 'labels map?',
    12: 'annotations map?',
    13: 'ownerReferences OwnerReference[]?',
    14: 'finalizers string[]?',
  }),
  OwnerReference: message({
    5: 'apiVersion string',
    1: 'kind string',
    3: 'name string',
    4: 'uid string',
    6: 'controller bool*',
    7: 'blockOwnerDeletion bool*',
  }),
  LabelSelector: message({ 1: 'matchLabels map?', 2: 'matchExpressions LabelSelectorRequirement[]?' }),
  LabelSelectorRequirement: message({ 1: 'key string', 2: 'operator string', 3: 'values string[]?' }),

  // k8s.io/api/batch/v1
  Job: message({ 1: 'metadata ObjectMeta!', 2: 'spec JobSpec!', 3: 'status JobStatus!' }),
  JobSpec: message({
    1: 'parallelism int32*',
    2: 'completions int32*',
    3: 'activeDeadlineSeconds int64*',
    7: 'backoffLimit int32*',
    12: 'backoffLimitPerIndex int32*',
    13: 'maxFailedIndexes int32*',
    4: 'selector LabelSelector*',
    5: 'manualSelector bool*',
    6: 'template PodTemplateSpec!',
    8: 'ttlSecondsAfterFinished int32*',
    9: 'completionMode string*',
    10: 'suspend bool*',
    14: 'podReplacementPolicy string*',
    15: 'managedBy string*',
  }),
  // A Job being created carries an empty status; its non-pointer counters still travel as zeros.
  JobStatus: message({
    2: 'startTime time*',
    3: 'completionTime time*',
    4: 'active int32?',
    5: 'succeeded int32?',
    6: 'failed int32?',
    7: 'completedIndexes string?',
    9: 'ready int32*',
    10: 'failedIndexes string*',
    11: 'terminating int32*',
  }),
  CronJob: message({ 1: 'metadata ObjectMeta!', 2: 'spec CronJobSpec!', 3: 'status CronJobStatus!' }),
  CronJobSpec: message({
    1: 'schedule string',
    8: 'timeZone string*',
    2: 'startingDeadlineSeconds int64*',
    3: 'concurrencyPolicy string?',
    4: 'suspend bool*',
    5: 'jobTemplate JobTemplateSpec!',
    6: 'successfulJobsHistoryLimit int32*',
    7: 'failedJobsHistoryLimit int32*',
  }),
  CronJobStatus: message({ 4: 'lastScheduleTime time*', 5: 'lastSuccessfulTime time*' }),
  JobTemplateSpec: message({ 1: 'metadata ObjectMeta!', 2: 'spec JobSpec!' }),

  // k8s.io/api/core/v1
  PodTemplateSpec: message({ 1: 'metadata ObjectMeta!', 2: 'spec PodSpec!' }),
  PodSpec: message({
    1: 'volumes Volume[]?',
    20: 'initContainers Container[]?',
    2: 'containers Container[]',
    3: 'restartPolicy string?',
    4: 'terminationGracePeriodSeconds int64*',
    5: 'activeDeadlineSeconds int64*',
    6: 'dnsPolicy string?',
    7: 'nodeSelector map?',
    8: 'serviceAccountName string?',
    9: 'serviceAccount string?',
    21: 'automountServiceAccountToken bool*',
    10: 'nodeName string?',
    11: 'hostNetwork bool?',
    12: 'hostPID bool?',
    13: 'hostIPC bool?',
    27: 'shareProcessNamespace bool*',
    14: 'securityContext PodSecurityContext*',
    15: 'imagePullSecrets LocalObjectReference[]?',
    16: 'hostname string?',
    17: 'subdomain string?',
    18: 'affinity Affinity*',
    19: 'schedulerName string?',
    22: 'tolerations Toleration[]?',
    23: 'hostAliases HostAlias[]?',
    24: 'priorityClassName string?',
    25: 'priority int32*',
    26: 'dnsConfig PodDNSConfig*',
    28: 'readinessGates PodReadinessGate[]?',
    29: 'runtimeClassName string*',
    30: 'enableServiceLinks bool*',
    31: 'preemptionPolicy string*',
    32: 'overhead map<quantity>?',
    33: 'topologySpreadConstraints TopologySpreadConstraint[]?',
    35: 'setHostnameAsFQDN bool*',
    36: 'os PodOS*',
    37: 'hostUsers bool*',
    38: 'schedulingGates PodSchedulingGate[]?',
    40: 'resources ResourceRequirements*',
  }),
  Container: message({
    1: 'name string',
    2: 'image string?',
    3: 'command string[]?',
    4: 'args string[]?',
    5: 'workingDir string?',
    6: 'ports ContainerPort[]?',
    19: 'envFrom EnvFromSource[]?',
    7: 'env EnvVar[]?',
    8: 'resources ResourceRequirements!',
    23: 'resizePolicy ContainerResizePolicy[]?',
    24: 'restartPolicy string*',
    9: 'volumeMounts VolumeMount[]?',
    21: 'volumeDevices VolumeDevice[]?',
    10: 'livenessProbe Probe*',
    11: 'readinessProbe Probe*',
    22: 'startupProbe Probe*',
    13: 'terminationMessagePath string?',
    20: 'terminationMessagePolicy string?',
    14: 'imagePullPolicy string?',
    15: 'securityContext SecurityContext*',
    16: 'stdin bool?',
    17: 'stdinOnce bool?',
    18: 'tty bool?',
  }),
  ContainerPort: message({
    1: 'name string?',
    2: 'hostPort int32?',
    3: 'containerPort int32',
    4: 'protocol string?',
    5: 'hostIP string?',
  }),
  ContainerResizePolicy: message({ 1: 'resourceName string', 2: 'restartPolicy string' }),
  EnvVar: message({ 1: 'name string', 2: 'value string?', 3: 'valueFrom EnvVarSource*' }),
  EnvVarSource: message({
    1: 'fieldRef ObjectFieldSelector*',
    2: 'resourceFieldRef ResourceFieldSelector*',
    3: 'configMapKeyRef ConfigMapKeySelector*',
    4: 'secretKeyRef SecretKeySelector*',
  }),
  ObjectFieldSelector: message({ 1: 'apiVersion string?', 2: 'fieldPath string' }),
  ResourceFieldSelector: message({
    1: 'containerName string?',
    2: 'resource string',
    3: 'divisor quantity!',
  }),
  ConfigMapKeySelector: message({
    1: 'localObjectReference LocalObjectReference...',
    2: 'key string',
    3: 'optional bool*',
  }),
  SecretKeySelector: message({
    1: 'localObjectReference LocalObjectReference...',
    2: 'key string',
    3: 'optional bool*',
  }),
  LocalObjectReference: message({ 1: 'name string?' }),
  EnvFromSource: message({
    1: 'prefix string?',
    2: 'configMapRef ConfigMapEnvSource*',
    3: 'secretRef SecretEnvSource*',
  }),
  ConfigMapEnvSource: message({ 1: 'localObjectReference LocalObjectReference...', 2: 'optional bool*' }),
  SecretEnvSource: message({ 1: 'localObjectReference LocalObjectReference...', 2: 'optional bool*' }),
  ResourceRequirements: message({
    1: 'limits map<quantity>?',
    2: 'requests map<quantity>?',
    3: 'claims ResourceClaim[]?',
  }),
  ResourceClaim: message({ 1: 'name string', 2: 'request string?' }),
  VolumeMount: message({
    1: 'name string',
    2: 'readOnly bool?',
    7: 'recursiveReadOnly string*',
    3: 'mountPath string',
    4: 'subPath string?',
    5: 'mountPropagation string*',
    6: 'subPathExpr string?',
  }),
  VolumeDevice: message({ 1: 'name string', 2: 'devicePath string' }),
  Probe: message({
    1: 'handler ProbeHandler...',
    2: 'initialDelaySeconds int32?',
    3: 'timeoutSeconds int32?',
    4: 'periodSeconds int32?',
    5: 'successThreshold int32?',
    6: 'failureThreshold int32?',
    7: 'terminationGracePeriodSeconds int64*',
  }),
  ProbeHandler: message({
    1: 'exec ExecAction*',
    2: 'httpGet HTTPGetAction*',
    3: 'tcpSocket TCPSocketAction*',
    4: 'grpc GRPCAction*',
  }),
  ExecAction: message({ 1: 'command string[]?' }),
  HTTPGetAction: message({
    1: 'path string?',
    2: 'port intOrString!',
    3: 'host string?',
    4: 'scheme string?',
    5: 'httpHeaders HTTPHeader[]?',
  }),
  HTTPHeader: message({ 1: 'name string', 2: 'value string' }),
  TCPSocketAction: message({ 1: 'port intOrString!', 2: 'host string?' }),
  GRPCAction: message({ 1: 'port int32', 2: 'service string*' }),
  SecurityContext: message({
    1: 'capabilities Capabilities*',
    2: 'privileged bool*',
    3: 'seLinuxOptions SELinuxOptions*',
    10: 'windowsOptions WindowsSecurityContextOptions*',
    4: 'runAsUser int64*',
    8: 'runAsGroup int64*',
    5: 'runAsNonRoot bool*',
    6: 'readOnlyRootFilesystem bool*',
    7: 'allowPrivilegeEscalation bool*',
    9: 'procMount string*',
    11: 'seccompProfile SeccompProfile*',
    12: 'appArmorProfile AppArmorProfile*',
  }),
  Capabilities: message({ 1: 'add string[]?', 2: 'drop string[]?' }),
  SELinuxOptions: message({ 1: 'user string?', 2: 'role string?', 3: 'type string?', 4: 'level string?' }),
  WindowsSecurityContextOptions: message({
    1: 'gmsaCredentialSpecName string*',
    2: 'gmsaCredentialSpec string*',
    3: 'runAsUserName string*',
    4: 'hostProcess bool*',
  }),
  SeccompProfile: message({ 1: 'type string', 2: 'localhostProfile string*' }),
  AppArmorProfile: message({ 1: 'type string', 2: 'localhostProfile string*' }),
  PodSecurityContext: message({
    1: 'seLinuxOptions SELinuxOptions*',
    8: 'windowsOptions WindowsSecurityContextOptions*',
    2: 'runAsUser int64*',
    6: 'runAsGroup int64*',
    3: 'runAsNonRoot bool*',
    4: 'supplementalGroups int64[]?',
    12: 'supplementalGroupsPolicy string*',
    5: 'fsGroup int64*',
    7: 'sysctls Sysctl[]?',
    9: 'fsGroupChangePolicy string*',
    10: 'seccompProfile SeccompProfile*',
    11: 'appArmorProfile AppArmorProfile*',
    13: 'seLinuxChangePolicy string*',
  }),
  Sysctl: message({ 1: 'name string', 2: 'value string' }),
  Affinity: message({
    1: 'nodeAffinity NodeAffinity*',
    2: 'podAffinity PodAffinity*',
    3: 'podAntiAffinity PodAntiAffinity*',
  }),
  NodeAffinity: message({
    1: 'requiredDuringSchedulingIgnoredDuringExecution NodeSelector*',
    2: 'preferredDuringSchedulingIgnoredDuringExecution PreferredSchedulingTerm[]?',
  }),
  NodeSelector: message({ 1: 'nodeSelectorTerms NodeSelectorTerm[]' }),
  NodeSelectorTerm: message({
    1: 'matchExpressions NodeSelectorRequirement[]?',
    2: 'matchFields NodeSelectorRequirement[]?',
  }),
  NodeSelectorRequirement: message({ 1: 'key string', 2: 'operator string', 3: 'values string[]?' }),
  PreferredSchedulingTerm: message({ 1: 'weight int32', 2: 'preference NodeSelectorTerm!' }),
  PodAffinity: message({
    1: 'requiredDuringSchedulingIgnoredDuringExecution PodAffinityTerm[]?',
    2: 'preferredDuringSchedulingIgnoredDuringExecution WeightedPodAffinityTerm[]?',
  }),
  PodAntiAffinity: message({
    1: 'requiredDuringSchedulingIgnoredDuringExecution PodAffinityTerm[]?',
    2: 'preferredDuringSchedulingIgnoredDuringExecution WeightedPodAffinityTerm[]?',
  }),
  PodAffinityTerm: message({
    1: 'labelSelector LabelSelector*',
    2: 'namespaces string[]?',
    3: 'topologyKey string',
    4: 'namespaceSelector LabelSelector*',
    5: 'matchLabelKeys string[]?',
    6: 'mismatchLabelKeys string[]?',
  }),
  WeightedPodAffinityTerm: message({ 1: 'weight int32', 2: 'podAffinityTerm PodAffinityTerm!' }),
  Toleration: message({
    1: 'key string?',
    2: 'operator string?',
    3: 'value string?',
    4: 'effect string?',
    5: 'tolerationSeconds int64*',
  }),
  HostAlias: message({ 1: 'ip string', 2: 'hostnames string[]?' }),
  PodDNSConfig: message({
    1: 'nameservers string[]?',
    2: 'searches string[]?',
    3: 'options PodDNSConfigOption[]?',
  }),
  PodDNSConfigOption: message({ 1: 'name string?', 2: 'value string*' }),
  PodReadinessGate: message({ 1: 'conditionType string' }),
  PodSchedulingGate: message({ 1: 'name string' }),
  PodOS: message({ 1: 'name string' }),
  TopologySpreadConstraint: message({
    1: 'maxSkew int32',
    2: 'topologyKey string',
    3: 'whenUnsatisfiable string',
    4: 'labelSelector LabelSelector*',
    5: 'minDomains int32*',
    6: 'nodeAffinityPolicy string*',
    7: 'nodeTaintsPolicy string*',
    8: 'matchLabelKeys string[]?',
  }),
  Volume: message({ 1: 'name string', 2: 'volumeSource VolumeSource...' }),
  // Only the volume sources a backup Job plausibly mounts; any other source number is refused.
  VolumeSource: message({
    1: 'hostPath HostPathVolumeSource*',
    2: 'emptyDir EmptyDirVolumeSource*',
    6: 'secret SecretVolumeSource*',
    7: 'nfs NFSVolumeSource*',
    10: 'persistentVolumeClaim PersistentVolumeClaimVolumeSource*',
    16: 'downwardAPI DownwardAPIVolumeSource*',
    19: 'configMap ConfigMapVolumeSource*',
    26: 'projected ProjectedVolumeSource*',
    28: 'csi CSIVolumeSource*',
  }),
  HostPathVolumeSource: message({ 1: 'path string', 2: 'type string*' }),
  EmptyDirVolumeSource: message({ 1: 'medium string?', 2: 'sizeLimit quantity*' }),
  SecretVolumeSource: message({
    1: 'secretName string?',
    2: 'items KeyToPath[]?',
    3: 'defaultMode int32*',
    4: 'optional bool*',
  }),
  NFSVolumeSource: message({ 1: 'server string', 2: 'path string', 3: 'readOnly bool?' }),
  PersistentVolumeClaimVolumeSource: message({ 1: 'claimName string', 2: 'readOnly bool?' }),
  DownwardAPIVolumeSource: message({ 1: 'items DownwardAPIVolumeFile[]?', 2: 'defaultMode int32*' }),
  DownwardAPIVolumeFile: message({
    1: 'path string',
    2: 'fieldRef ObjectFieldSelector*',
    3: 'resourceFieldRef ResourceFieldSelector*',
    4: 'mode int32*',
  }),
  ConfigMapVolumeSource: message({
    1: 'localObjectReference LocalObjectReference...',
    2: 'items KeyToPath[]?',
    3: 'defaultMode int32*',
    4: 'optional bool*',
  }),
  KeyToPath: message({ 1: 'key string', 2: 'path string', 3: 'mode int32*' }),
  ProjectedVolumeSource: message({ 1: 'sources VolumeProjection[]', 2: 'defaultMode int32*' }),
  VolumeProjection: message({
    1: 'secret SecretProjection*',
    2: 'downwardAPI DownwardAPIProjection*',
    3: 'configMap ConfigMapProjection*',
    4: 'serviceAccountToken ServiceAccountTokenProjection*',
  }),
  SecretProjection: message({
    1: 'localObjectReference LocalObjectReference...',
    2: 'items KeyToPath[]?',
    4: 'optional bool*',
  }),
  ConfigMapProjection: message({
    1: 'localObjectReference LocalObjectReference...',
    2: 'items KeyToPath[]?',
    4: 'optional bool*',
  }),
  DownwardAPIProjection: message({ 1: 'items DownwardAPIVolumeFile[]?' }),
  ServiceAccountTokenProjection: message({
    1: 'audience string?',
    2: 'expirationSeconds int64*',
    3: 'path string',
  }),
  CSIVolumeSource: message({
    1: 'driver string',
    2: 'readOnly bool*',
    3: 'fsType string*',
    4: 'volumeAttributes map?',
    5: 'nodePublishSecretRef LocalObjectReference*',
  }),

  // k8s.io/api/core/v1: the objects of kubectl's typed generators
  Namespace: message({ 1: 'metadata ObjectMeta!', 2: 'spec NamespaceSpec!', 3: 'status NamespaceStatus!' }),
  NamespaceSpec: message({ 1: 'finalizers string[]?' }),
  NamespaceStatus: message({ 1: 'phase string?', 2: 'conditions NamespaceCondition[]?' }),
  NamespaceCondition: message({
    1: 'type string',
    2: 'status string',
    4: 'lastTransitionTime time!',
    5: 'reason string?',
    6: 'message string?',
  }),
  ConfigMap: message({
    1: 'metadata ObjectMeta!',
    4: 'immutable bool*',
    2: 'data map?',
    3: 'binaryData map<bytes>?',
  }),
  // stringData is write-only: the server merges it into data (done by the emulator's create, as for JSON).
  Secret: message({
    1: 'metadata ObjectMeta!',
    5: 'immutable bool*',
    2: 'data map<bytes>?',
    4: 'stringData map?',
    3: 'type string?',
  }),
  ServiceAccount: message({
    1: 'metadata ObjectMeta!',
    2: 'secrets ObjectReference[]?',
    3: 'imagePullSecrets LocalObjectReference[]?',
    4: 'automountServiceAccountToken bool*',
  }),
  ObjectReference: message({
    1: 'kind string?',
    2: 'namespace string?',
    3: 'name string?',
    4: 'uid string?',
    5: 'apiVersion string?',
    6: 'resourceVersion string?',
    7: 'fieldPath string?',
  }),
  Service: message({ 1: 'metadata ObjectMeta!', 2: 'spec ServiceSpec!', 3: 'status ServiceStatus!' }),
  // sessionAffinityConfig (14) is left out on purpose: no generator sets it, so it is refused rather than mapped
  // without its upstream sub-schema.
  ServiceSpec: message({
    1: 'ports ServicePort[]?',
    2: 'selector map?',
    3: 'clusterIP string?',
    18: 'clusterIPs string[]?',
    4: 'type string?',
    5: 'externalIPs string[]?',
    7: 'sessionAffinity string?',
    8: 'loadBalancerIP string?',
    9: 'loadBalancerSourceRanges string[]?',
    10: 'externalName string?',
    11: 'externalTrafficPolicy string?',
    12: 'healthCheckNodePort int32?',
    13: 'publishNotReadyAddresses bool?',
    19: 'ipFamilies string[]?',
    17: 'ipFamilyPolicy string*',
    20: 'allocateLoadBalancerNodePorts bool*',
    21: 'loadBalancerClass string*',
    22: 'internalTrafficPolicy string*',
    23: 'trafficDistribution string*',
  }),
  ServicePort: message({
    1: 'name string?',
    2: 'protocol string?',
    6: 'appProtocol string*',
    3: 'port int32',
    4: 'targetPort intOrString!',
    5: 'nodePort int32?',
  }),
  // A Service being created carries an empty status: its loadBalancer struct is always written, and anything
  // inside it (ingress) or conditions (2) is refused.
  ServiceStatus: message({ 1: 'loadBalancer LoadBalancerStatus!' }),
  LoadBalancerStatus: message({}),

  // k8s.io/api/apps/v1
  Deployment: message({
    1: 'metadata ObjectMeta!',
    2: 'spec DeploymentSpec!',
    3: 'status DeploymentStatus!',
  }),
  DeploymentSpec: message({
    1: 'replicas int32*',
    2: 'selector LabelSelector*',
    3: 'template PodTemplateSpec!',
    4: 'strategy DeploymentStrategy!',
    5: 'minReadySeconds int32?',
    6: 'revisionHistoryLimit int32*',
    7: 'paused bool?',
    9: 'progressDeadlineSeconds int32*',
    10: 'podReplacementPolicy string*',
  }),
  DeploymentStrategy: message({ 1: 'type string?', 2: 'rollingUpdate RollingUpdateDeployment*' }),
  RollingUpdateDeployment: message({ 1: 'maxUnavailable intOrString*', 2: 'maxSurge intOrString*' }),
  DeploymentStatus: message({
    1: 'observedGeneration int64?',
    2: 'replicas int32?',
    3: 'updatedReplicas int32?',
    7: 'readyReplicas int32?',
    4: 'availableReplicas int32?',
    5: 'unavailableReplicas int32?',
    9: 'terminatingReplicas int32*',
    6: 'conditions DeploymentCondition[]?',
    8: 'collisionCount int32*',
  }),
  DeploymentCondition: message({
    1: 'type string',
    2: 'status string',
    6: 'lastUpdateTime time!',
    7: 'lastTransitionTime time!',
    4: 'reason string?',
    5: 'message string?',
  }),

  // k8s.io/api/rbac/v1
  Role: message({ 1: 'metadata ObjectMeta!', 2: 'rules PolicyRule[]' }),
  PolicyRule: message({
    1: 'verbs string[]',
    2: 'apiGroups string[]?',
    3: 'resources string[]?',
    4: 'resourceNames string[]?',
    5: 'nonResourceURLs string[]?',
  }),
  RoleBinding: message({ 1: 'metadata ObjectMeta!', 2: 'subjects Subject[]?', 3: 'roleRef RoleRef!' }),
  Subject: message({ 1: 'kind string', 2: 'apiGroup string?', 3: 'name string', 4: 'namespace string?' }),
  RoleRef: message({ 1: 'apiGroup string', 2: 'kind string', 3: 'name string' }),
  ClusterRole: message({
    1: 'metadata ObjectMeta!',
    2: 'rules PolicyRule[]',
    3: 'aggregationRule AggregationRule*',
  }),
  AggregationRule: message({ 1: 'clusterRoleSelectors LabelSelector[]?' }),
  ClusterRoleBinding: message({ 1: 'metadata ObjectMeta!', 2: 'subjects Subject[]?', 3: 'roleRef RoleRef!' }),
};

/** The top-level kinds this decoder understands, by apiVersion/kind. */
const ROOT_MESSAGES: Record<string, string> = {
  'batch/v1/Job': 'Job',
  'batch/v1/CronJob': 'CronJob',
  'v1/Namespace': 'Namespace',
  'v1/ConfigMap': 'ConfigMap',
  'v1/Secret': 'Secret',
  'v1/ServiceAccount': 'ServiceAccount',
  'v1/Service': 'Service',
  'apps/v1/Deployment': 'Deployment',
  'rbac.authorization.k8s.io/v1/Role': 'Role',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'RoleBinding',
  'rbac.authorization.k8s.io/v1/ClusterRole': 'ClusterRole',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'ClusterRoleBinding',
};

// ---------------------------------------------------------------------------------------------------------
// Decoding

/**
 * Decodes a Kubernetes protobuf body (the `k8s\0` magic, then a runtime.Unknown wrapping the object) into the
 * JSON object a JSON client would have sent: `{ apiVersion, kind, metadata, spec, status }`.
 */
export function decodeKubernetesProtobuf(body: Buffer): any {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new UnsupportedProtobufError('body does not start with the Kubernetes protobuf magic "k8s\\0"');
  }
  let apiVersion = '';
  let kind = '';
  let raw: Buffer | null = null;
  for (const f of readWireFields(body.subarray(MAGIC.length))) {
    if (f.field === 1 && f.value instanceof Buffer) {
      for (const t of readWireFields(f.value)) {
        if (t.field === 1 && t.value instanceof Buffer) apiVersion = t.value.toString('utf8');
        else if (t.field === 2 && t.value instanceof Buffer) kind = t.value.toString('utf8');
        else throw new UnsupportedProtobufError(`TypeMeta field ${t.field} is not supported`);
      }
    } else if (f.field === 2 && f.value instanceof Buffer) {
      raw = f.value;
    } else if ((f.field === 3 || f.field === 4) && f.value instanceof Buffer) {
      // contentEncoding / contentType: only the plain, unencoded form is understood.
      if (f.field === 3 && f.value.length > 0) {
        throw new UnsupportedProtobufError(`content encoding "${f.value.toString('utf8')}" is not supported`);
      }
    } else {
      throw new UnsupportedProtobufError(`runtime.Unknown field ${f.field} is not supported`);
    }
  }
  const root = ROOT_MESSAGES[`${apiVersion}/${kind}`];
  if (!root) throw new UnsupportedProtobufError(`no protobuf schema for ${apiVersion} ${kind}`);
  return { apiVersion, kind, ...decodeMessage(root, raw ?? Buffer.alloc(0)) };
}

/** Decodes one message of the table into its JSON form. Exported for tests of single messages. */
export function decodeMessage(name: string, buf: Buffer): Record<string, unknown> {
  const schema = SCHEMAS[name];
  if (!schema) throw new UnsupportedProtobufError(`no schema for message ${name}`);
  const values = new Map<number, unknown>();
  for (const f of readWireFields(buf)) {
    const spec = schema.get(f.field);
    if (!spec) {
      throw new UnsupportedProtobufError(
        `${name} field ${f.field} (wire type ${f.wireType}) is not supported`,
      );
    }
    const where = `${name}.${spec.json}`;
    if (spec.repeated) {
      const list = (values.get(f.field) as unknown[] | undefined) ?? [];
      list.push(...decodeRepeatedValues(spec.type, f, where));
      values.set(f.field, list);
    } else if (isMap(spec.type)) {
      const map = (values.get(f.field) as Record<string, unknown> | undefined) ?? {};
      const [key, value] = decodeMapEntry(spec.type, f, where);
      map[key] = value;
      values.set(f.field, map);
    } else {
      values.set(f.field, decodeValue(spec.type, f, where));
    }
  }

  const out: Record<string, unknown> = {};
  for (const [num, spec] of schema) {
    const present = values.has(num);
    let value = values.get(num);
    if (spec.mode === 'inline') {
      if (present) Object.assign(out, value);
      continue;
    }
    if (spec.mode === 'pointer') {
      if (present) out[spec.json] = value;
      continue;
    }
    if (spec.mode === 'struct') {
      out[spec.json] = present ? value : zeroStruct(spec.type);
      continue;
    }
    if (!present) value = spec.repeated || isMap(spec.type) ? null : zeroScalar(spec.type);
    if (spec.mode === 'omitempty' && isEmpty(value)) continue;
    out[spec.json] = value;
  }
  return out;
}

function isMap(type: FieldType): boolean {
  return type === 'map' || type === 'map<quantity>' || type === 'map<bytes>';
}

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined || value === '' || value === 0 || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}

function zeroScalar(type: FieldType): unknown {
  switch (type) {
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'int32':
    case 'int64':
      return 0;
    default:
      return null;
  }
}

// What Go marshals for a zero non-pointer struct: a zero Time is null, a zero Quantity "0", other structs {}
// with their own required fields.
function zeroStruct(type: FieldType): unknown {
  if (type === 'time') return null;
  if (type === 'quantity') return '0';
  if (type === 'intOrString') return 0;
  return decodeMessage(type, Buffer.alloc(0));
}

function expectWire(f: WireField, wireType: number, where: string): void {
  if (f.wireType !== wireType) {
    throw new UnsupportedProtobufError(`${where}: wire type ${f.wireType}, expected ${wireType}`);
  }
}

function decodeValue(type: FieldType, f: WireField, where: string): unknown {
  switch (type) {
    case 'string':
      expectWire(f, WireType.LengthDelimited, where);
      return (f.value as Buffer).toString('utf8');
    case 'bytes':
      expectWire(f, WireType.LengthDelimited, where);
      return (f.value as Buffer).toString('base64');
    case 'bool':
      expectWire(f, WireType.Varint, where);
      return (f.value as bigint) !== 0n;
    case 'int32':
      expectWire(f, WireType.Varint, where);
      return Number(BigInt.asIntN(32, f.value as bigint));
    case 'int64':
      expectWire(f, WireType.Varint, where);
      return toSafeNumber(BigInt.asIntN(64, f.value as bigint), where);
    default: {
      expectWire(f, WireType.LengthDelimited, where);
      const bytes = f.value as Buffer;
      if (type === 'quantity') return decodeQuantity(bytes, where);
      if (type === 'time') return decodeTime(bytes, where);
      if (type === 'intOrString') return decodeIntOrString(bytes, where);
      return decodeMessage(type, bytes);
    }
  }
}

// Repeated scalars may arrive one per field or packed into one length-delimited field.
function decodeRepeatedValues(type: FieldType, f: WireField, where: string): unknown[] {
  const packable = type === 'int32' || type === 'int64' || type === 'bool';
  if (packable && f.wireType === WireType.LengthDelimited) {
    const buf = f.value as Buffer;
    const out: unknown[] = [];
    let pos = 0;
    while (pos < buf.length) {
      const start = pos;
      while (pos < buf.length && buf[pos] & 0x80) pos++;
      pos++;
      if (pos > buf.length) throw new UnsupportedProtobufError(`${where}: truncated packed varint`);
      // Reuse the field reader on a synthetic "field 1, varint" key followed by the element.
      const [element] = readWireFields(Buffer.concat([Buffer.from([0x08]), buf.subarray(start, pos)]));
      out.push(decodeValue(type, element, where));
    }
    return out;
  }
  return [decodeValue(type, f, where)];
}

const MAP_VALUE_TYPES: Record<string, FieldType> = {
  map: 'string',
  'map<quantity>': 'quantity',
  'map<bytes>': 'bytes', // a []byte value, which JSON carries as base64
};

function decodeMapEntry(type: FieldType, f: WireField, where: string): [string, unknown] {
  expectWire(f, WireType.LengthDelimited, where);
  let key = '';
  let value: unknown = type === 'map<quantity>' ? '0' : '';
  for (const e of readWireFields(f.value as Buffer)) {
    if (e.field === 1) key = decodeValue('string', e, `${where} key`) as string;
    else if (e.field === 2) value = decodeValue(MAP_VALUE_TYPES[type], e, `${where} value`);
    else throw new UnsupportedProtobufError(`${where}: map entry field ${e.field} is not supported`);
  }
  return [key, value];
}

// resource.Quantity travels as its canonical string (field 1); JSON carries the same string.
function decodeQuantity(buf: Buffer, where: string): string {
  let text = '';
  for (const f of readWireFields(buf)) {
    if (f.field === 1) text = decodeValue('string', f, where) as string;
    else throw new UnsupportedProtobufError(`${where}: Quantity field ${f.field} is not supported`);
  }
  return text === '' ? '0' : text;
}

// metav1.Time: {1 seconds, 2 nanos}; an empty message is the zero time, which JSON writes as null.
// The API server keeps whole seconds only (RFC 3339, UTC), as JSON clients send them.
function decodeTime(buf: Buffer, where: string): string | null {
  if (buf.length === 0) return null;
  let seconds = 0;
  for (const f of readWireFields(buf)) {
    if (f.field === 1) seconds = decodeValue('int64', f, where) as number;
    else if (f.field === 2) decodeValue('int32', f, where);
    else throw new UnsupportedProtobufError(`${where}: Time field ${f.field} is not supported`);
  }
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// intstr.IntOrString: {1 type (0 int, 1 string), 2 intVal, 3 strVal} → a JSON number or string.
function decodeIntOrString(buf: Buffer, where: string): number | string {
  let kind = 0;
  let intVal = 0;
  let strVal = '';
  for (const f of readWireFields(buf)) {
    if (f.field === 1) kind = decodeValue('int64', f, where) as number;
    else if (f.field === 2) intVal = decodeValue('int32', f, where) as number;
    else if (f.field === 3) strVal = decodeValue('string', f, where) as string;
    else throw new UnsupportedProtobufError(`${where}: IntOrString field ${f.field} is not supported`);
  }
  return kind === 1 ? strVal : intVal;
}

function toSafeNumber(value: bigint, where: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new UnsupportedProtobufError(`${where}: ${value} does not fit a JSON number exactly`);
  }
  return Number(value);
}
