{{/* Names */}}
{{- define "nsbackup.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The base name of every object: the release name (`<release>-backup`, `<release>-prune`, ...). A CronJob's
     Jobs add 11 characters and ad-hoc Jobs `-adhoc-<10 digits>`, so it is kept to 40 characters. */}}
{{- define "nsbackup.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "nsbackup.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | quote }}
app.kubernetes.io/name: {{ include "nsbackup.name" . }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels of the Jobs and pods nsbackup runs: the resource export leaves objects with these out. */}}
{{- define "nsbackup.runLabels" -}}
app.kubernetes.io/name: nsbackup
app.kubernetes.io/instance: {{ .root.Release.Name | quote }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "nsbackup.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "nsbackup.serviceAccountName" -}}
{{- printf "%s-%s" (include "nsbackup.fullname" .root) .component -}}
{{- end -}}

{{/* Cluster-scoped objects are named after the namespace too, so two releases never collide. */}}
{{- define "nsbackup.clusterName" -}}
{{- printf "nsbackup-%s-%s-%s" .root.Release.Namespace (include "nsbackup.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* env entries from a map NAME -> value; null and "" are left out so the program's default applies. */}}
{{- define "nsbackup.envValues" -}}
{{- range $name, $value := . }}
{{- if not (or (kindIs "invalid" $value) (and (kindIs "string" $value) (eq $value ""))) }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* What every nsbackup container gets: time zone, logging. */}}
{{- define "nsbackup.commonEnv" -}}
- name: TZ
  value: {{ .Values.timeZone | quote }}
- name: NSBACKUP_LOG_FORMAT
  value: {{ .Values.log.format | quote }}
- name: NSBACKUP_LOG_LEVEL
  value: {{ .Values.log.level | quote }}
{{- with .Values.metrics.pushgatewayUrl }}
- name: NSBACKUP_PUSHGATEWAY_URL
  value: {{ . | quote }}
{{- end }}
{{- if and (eq .Values.mode "namespace") .Values.metrics.statusConfigMap }}
- name: NSBACKUP_STATUS_CONFIGMAP
  value: {{ .Values.metrics.statusConfigMap | quote }}
{{- end }}
{{- end -}}

{{/* metrics.statusConfigMap: create it once, then merge each run into it (by name only). */}}
{{- define "nsbackup.statusConfigMapRules" -}}
{{- with .Values.metrics.statusConfigMap }}
# metrics.statusConfigMap: each run's last attempt, result and success, for `nsbackup status`.
- apiGroups: ['']
  resources: [configmaps]
  verbs: [create]
- apiGroups: ['']
  resources: [configmaps]
  resourceNames: [{{ . | quote }}]
  verbs: [patch]
{{- end }}
{{- end -}}

{{/* The namespace a namespaced command works on: the pod's own. */}}
{{- define "nsbackup.namespaceEnv" -}}
- name: NSBACKUP_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- end -}}

{{/* S3: plain values, then variables from the Secret (a variable taken from the Secret is not also set plainly). */}}
{{- define "nsbackup.s3Env" -}}
{{- $s3 := .Values.s3 -}}
{{- $fromSecret := dict -}}
{{- if $s3.secret.name -}}
{{- $fromSecret = $s3.secret.keys | default dict -}}
{{- end -}}
{{- $plain := dict -}}
{{- $candidates := dict "NSBACKUP_S3_BUCKET" $s3.bucket "NSBACKUP_S3_PREFIX" $s3.prefix "NSBACKUP_S3_ENDPOINT" $s3.endpoint "NSBACKUP_S3_REGION" $s3.region "NSBACKUP_S3_FORCE_PATH_STYLE" $s3.forcePathStyle -}}
{{- range $name, $value := $candidates -}}
{{- if not (hasKey $fromSecret $name) -}}
{{- $_ := set $plain $name $value -}}
{{- end -}}
{{- end -}}
{{- include "nsbackup.envValues" $plain }}
{{- range $name, $key := $fromSecret }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $s3.secret.name | quote }}
      key: {{ $key | quote }}
{{- end }}
{{- end -}}

{{/* The volume movers' S3 keys: the AWS_* entries of s3.secret.keys as VAR=key pairs (NSBACKUP_S3_SECRET_KEYS). */}}
{{- define "nsbackup.moverS3Keys" -}}
{{- $pairs := list -}}
{{- if .Values.s3.secret.name -}}
{{- range $var, $key := (.Values.s3.secret.keys | default dict) -}}
{{- if hasPrefix "AWS_" $var -}}{{- $pairs = append $pairs (printf "%s=%s" $var $key) -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{- define "nsbackup.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "nsbackup.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Pod spec parts shared by every Job. */}}
{{- define "nsbackup.podCommon" -}}
restartPolicy: Never
securityContext:
  {{- include "nsbackup.podSecurityContext" . | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . | quote }}
{{- end }}
{{- end -}}

{{- define "nsbackup.podMetadata" -}}
labels:
  {{- include "nsbackup.runLabels" . | nindent 2 }}
  {{- with .root.Values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with .root.Values.podAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "nsbackup.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end -}}

{{/* Namespace of the lease lock's Leases (lock.backend=lease): lock.namespace, else the release namespace. */}}
{{- define "nsbackup.lockNamespace" -}}
{{- .Values.lock.namespace | default .Release.Namespace -}}
{{- end -}}
