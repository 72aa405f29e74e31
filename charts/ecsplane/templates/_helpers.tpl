{{/* The chart name, or nameOverride. */}}
{{- define "ecsplane.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The name of every object of the release: fullnameOverride, or RELEASE-ecsplane (just RELEASE
when the release name already contains the chart name). At most 63 characters.
*/}}
{{- define "ecsplane.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* chart-version, as the helm.sh/chart label wants it. */}}
{{- define "ecsplane.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that select the operator's pods; never change them on upgrade. */}}
{{- define "ecsplane.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ecsplane.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of every object of the release. */}}
{{- define "ecsplane.labels" -}}
helm.sh/chart: {{ include "ecsplane.chart" . }}
{{ include "ecsplane.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ecsplane
{{- end }}

{{/* The ServiceAccount the operator runs as. */}}
{{- define "ecsplane.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ecsplane.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name must name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The operator image reference. */}}
{{- define "ecsplane.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The `metadata:` line of a CRD with what the chart adds to it; see crds.yaml. */}}
{{- define "ecsplane.crdMetadata" -}}
metadata:
  labels:
    {{- include "ecsplane.labels" . | nindent 4 }}
  {{- if .Values.crds.keep }}
  annotations:
    # Uninstalling the release keeps the CRD, and so every object of its kind.
    helm.sh/resource-policy: keep
  {{- end }}
{{ end }}
