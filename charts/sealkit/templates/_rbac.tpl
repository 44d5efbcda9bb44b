{{/*
Rules for reconciling in one namespace (Role) or all of them (ClusterRole).
Argument: dict "root" $ "cluster" bool.
*/}}
{{- define "sealkit.reconcileRules" -}}
{{- $v := .root.Values }}
{{- if $v.sealedSecrets.enabled }}
- apiGroups: [bitnami.com]
  resources: [sealedsecrets]
  verbs: [get, list, watch]
- apiGroups: [bitnami.com]
  resources: [sealedsecrets/status]
  verbs: [get, update, patch]
{{- end }}
{{- if $v.externalSecrets.enabled }}
- apiGroups: [external-secrets.io]
  resources: [externalsecrets, secretstores]
  verbs: [get, list, watch]
- apiGroups: [external-secrets.io]
  resources: [externalsecrets/status, secretstores/status]
  verbs: [get, update, patch]
{{- if .cluster }}
- apiGroups: [external-secrets.io]
  resources: [clustersecretstores]
  verbs: [get, list, watch]
- apiGroups: [external-secrets.io]
  resources: [clustersecretstores/status]
  verbs: [get, update, patch]
{{- end }}
{{- end }}
# The Secrets it writes (unsealed / synced).
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end }}

{{/* Rules in the controller's own namespace. */}}
{{- define "sealkit.selfRules" -}}
{{- if .Values.leaderElection.enabled }}
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [create]
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  resourceNames: [{{ include "sealkit.leaseName" . }}]
  verbs: [get, update, patch]
{{- end }}
{{- if .Values.sealedSecrets.enabled }}
# Key Secrets (generateName: <keyPrefix>): listed by label, created on renewal.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create]
# Public-key ConfigMap (contract 2).
- apiGroups: [""]
  resources: [configmaps]
  verbs: [create]
- apiGroups: [""]
  resources: [configmaps]
  resourceNames: [{{ include "sealkit.publicKeysConfigMap" . }}]
  verbs: [get, update, patch]
{{- end }}
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end }}
