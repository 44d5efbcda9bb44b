{{/* Chart name. */}}
{{- define "sealkit.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fullname: by default `sealed-secrets-controller` (fullnameOverride), the name kubeseal and
`sealkit seal` look for. With fullnameOverride="" it follows the usual <release>-<chart> rule.
*/}}
{{- define "sealkit.fullname" -}}
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

{{- define "sealkit.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sealkit.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sealkit.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sealkit.labels" -}}
helm.sh/chart: {{ include "sealkit.chart" . }}
{{ include "sealkit.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sealkit
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "sealkit.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sealkit.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The ConfigMap the controller publishes its public keys in (contract 2). */}}
{{- define "sealkit.publicKeysConfigMap" -}}
{{- printf "%s-public-keys" (include "sealkit.fullname" .) }}
{{- end }}

{{- define "sealkit.leaseName" -}}
{{- default (printf "%s-leader" (include "sealkit.fullname" .)) .Values.leaderElection.leaseName }}
{{- end }}

{{- define "sealkit.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Namespaces reconciled in `namespaces` mode: the release namespace first, then the extra ones. */}}
{{- define "sealkit.watchedNamespaces" -}}
{{- $list := list .Release.Namespace }}
{{- range .Values.scope.additionalNamespaces }}
{{- if not (has . $list) }}
{{- $list = append $list . }}
{{- end }}
{{- end }}
{{- join "," $list }}
{{- end }}

{{- define "sealkit.validate" -}}
{{- if and (not .Values.sealedSecrets.enabled) (not .Values.externalSecrets.enabled) }}
{{- fail "sealkit: both sealedSecrets.enabled and externalSecrets.enabled are false; enable at least one part" }}
{{- end }}
{{- if and (ne .Values.scope.mode "cluster") .Values.externalSecrets.enabled .Values.scope.additionalNamespaces }}
{{- fail "sealkit: with scope.mode=namespaces the ExternalSecrets part watches only the release namespace; leave scope.additionalNamespaces empty or set externalSecrets.enabled=false" }}
{{- end }}
{{- if and (ne .Values.scope.mode "cluster") .Values.sealedSecrets.namespaceSelector }}
{{- fail "sealkit: sealedSecrets.namespaceSelector needs scope.mode=cluster (it watches namespaces cluster-wide)" }}
{{- end }}
{{- if and (gt (int .Values.replicas) 1) (not .Values.leaderElection.enabled) }}
{{- fail "sealkit: replicas > 1 needs leaderElection.enabled=true (two leaders would fight over the same Secrets)" }}
{{- end }}
{{- end }}

{{/* Controller command-line flags (see docs/install.md for the full list). */}}
{{- define "sealkit.args" -}}
- --controller-name={{ include "sealkit.fullname" . }}
- --listen-addr=:8080
- --listen-metrics-addr=:{{ .Values.metrics.port }}
- --log-level={{ .Values.logLevel }}
- --log-format={{ .Values.logFormat }}
- --sealed-secrets={{ .Values.sealedSecrets.enabled }}
- --external-secrets={{ .Values.externalSecrets.enabled }}
{{- if .Values.sealedSecrets.enabled }}
{{- if eq .Values.scope.mode "cluster" }}
- --all-namespaces=true
{{- with .Values.sealedSecrets.namespaceSelector }}
- --namespace-selector={{ . }}
{{- end }}
{{- else }}
- --all-namespaces=false
{{- with .Values.scope.additionalNamespaces }}
- --additional-namespaces={{ join "," . }}
{{- end }}
{{- end }}
- --key-prefix={{ .Values.sealedSecrets.keyPrefix }}
- --key-renew-period={{ .Values.sealedSecrets.keyRenewPeriod }}
{{- with .Values.sealedSecrets.extraArgs }}
{{ toYaml . }}
{{- end }}
{{- end }}
{{- if .Values.externalSecrets.enabled }}
{{- if ne .Values.scope.mode "cluster" }}
- --external-secrets-namespace={{ .Release.Namespace }}
- --external-secrets-cluster-stores=false
{{- end }}
{{- with .Values.externalSecrets.extraArgs }}
{{ toYaml . }}
{{- end }}
{{- end }}
{{- if .Values.leaderElection.enabled }}
- --leader-elect=true
- --leader-elect-lease-name={{ include "sealkit.leaseName" . }}
- --leader-elect-lease-duration={{ .Values.leaderElection.leaseDuration }}
- --leader-elect-renew-grace={{ .Values.leaderElection.renewGrace }}
{{- else }}
- --leader-elect=false
{{- end }}
{{- with .Values.extraArgs }}
{{ toYaml . }}
{{- end }}
{{- end }}
