{{/*
Rules for reconciling in one namespace (Role) or all of them (ClusterRole), derived from what the
controller does (see docs/security.md):
* SealedSecrets: list/watch SealedSecrets; write the Secret (get, create, update = PUT); patch status.
* ExternalSecrets: list/watch ExternalSecrets and SecretStores (+ ClusterSecretStores cluster-wide),
  patch their status (stores get a Ready condition too);
  write/delete the target Secret; read credential Secrets, template ConfigMaps, ServiceAccounts
  and mint their tokens (store auth.jwt); patch status.
* Both watch only the Secrets they manage, metadata only, by label (`sealkit.dev/sealed-secret`,
  `reconcile.external-secrets.io/managed=true`). RBAC cannot restrict list/watch by label, so
  `list`/`watch` on secrets is still granted in the scope; no values are read that way.
Argument: dict "root" $ "cluster" bool.
*/}}
{{- define "sealkit.reconcileRules" -}}
{{- $v := .root.Values }}
{{- $secretVerbs := list "get" "list" "watch" "create" "update" }}
{{- if $v.externalSecrets.enabled }}
{{- $secretVerbs = append $secretVerbs "delete" }}
{{- end }}
- apiGroups: [""]
  resources: [secrets]
  verbs: [{{ join ", " $secretVerbs }}]
{{- if $v.sealedSecrets.enabled }}
- apiGroups: [bitnami.com]
  resources: [sealedsecrets]
  verbs: [get, list, watch]
- apiGroups: [bitnami.com]
  resources: [sealedsecrets/status]
  verbs: [get, patch, update]
{{- if and .cluster $v.sealedSecrets.namespaceSelector }}
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get, list, watch]
{{- end }}
{{- end }}
{{- if $v.externalSecrets.enabled }}
- apiGroups: [external-secrets.io]
  resources: [externalsecrets, secretstores]
  verbs: [get, list, watch]
- apiGroups: [external-secrets.io]
  resources: [externalsecrets/status, secretstores/status]
  verbs: [get, patch, update]
- apiGroups: [""]
  resources: [configmaps, serviceaccounts]
  verbs: [get]
{{- if $v.externalSecrets.serviceAccountTokens }}
- apiGroups: [""]
  resources: [serviceaccounts/token]
  verbs: [create]
{{- end }}
{{- if .cluster }}
- apiGroups: [external-secrets.io]
  resources: [clustersecretstores]
  verbs: [get, list, watch]
- apiGroups: [external-secrets.io]
  resources: [clustersecretstores/status]
  verbs: [get, patch, update]
{{- if not $v.sealedSecrets.namespaceSelector }}
# ClusterSecretStore namespaceSelector conditions read the namespace's labels.
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get]
{{- end }}
{{- end }}
{{- end }}
- apiGroups: [events.k8s.io]
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
  verbs: [get, patch]
{{- end }}
{{- if .Values.sealedSecrets.enabled }}
# Key Secrets: watched by label on every replica, created by the leader on renewal.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create]
# Public-key ConfigMap (contract 2), written by the leader with server-side apply.
- apiGroups: [""]
  resources: [configmaps]
  verbs: [create]
- apiGroups: [""]
  resources: [configmaps]
  resourceNames: [{{ include "sealkit.publicKeysConfigMap" . }}]
  verbs: [get, patch, update]
{{- end }}
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end }}
