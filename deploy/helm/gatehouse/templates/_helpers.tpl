{{/* The release's name prefix: the release name, or <release>-gatehouse when it does not say gatehouse. */}}
{{- define "gatehouse.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* <fullname>-<service>; call with (dict "root" $ "name" $name). */}}
{{- define "gatehouse.serviceName" -}}
{{- printf "%s-%s" (include "gatehouse.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "gatehouse.sharedSecret" -}}
{{- default (printf "%s-shared" (include "gatehouse.fullname" .)) .Values.secrets.shared -}}
{{- end -}}

{{/* Labels on every object of the release, but the ones that select. */}}
{{- define "gatehouse.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/part-of: gatehouse
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* Labels of an object of the release that belongs to no one service. */}}
{{- define "gatehouse.labels" -}}
{{ include "gatehouse.commonLabels" . }}
{{ include "gatehouse.releasePods" . }}
{{- end -}}

{{/* Selector of one service's pods; (dict "root" $ "name" $name). */}}
{{- define "gatehouse.selectorLabels" -}}
app.kubernetes.io/name: gatehouse
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* Every label of one service's objects: `app` is the Prometheus job (gatehouse-<service>) the alerts expect. */}}
{{- define "gatehouse.serviceLabels" -}}
{{ include "gatehouse.commonLabels" .root }}
{{ include "gatehouse.selectorLabels" . }}
app: gatehouse-{{ .name }}
{{- end -}}

{{/* Selects every pod of the release (the default-deny and DNS policies). */}}
{{- define "gatehouse.releasePods" -}}
app.kubernetes.io/name: gatehouse
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The image of a service; (dict "root" $ "name" $name "svc" $svc). */}}
{{- define "gatehouse.image" -}}
{{- $image := .root.Values.image -}}
{{- $own := .svc.image | default dict -}}
{{- $repo := printf "%s/gatehouse-%s" (trimSuffix "/" $image.registry) .name -}}
{{- $digest := default $image.digest $own.digest -}}
{{- if $digest -}}
{{- printf "%s@%s" $repo $digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default .root.Chart.AppVersion (default $image.tag $own.tag)) -}}
{{- end -}}
{{- end -}}

{{/* terminationGracePeriodSeconds: the preStop sleep, the process's deadline, a margin. */}}
{{- define "gatehouse.gracePeriod" -}}
{{- $d := .Values.drain -}}
{{- add $d.preStopSleepSeconds $d.shutdownDeadlineSeconds $d.marginSeconds -}}
{{- end -}}

{{/* The environment of a service's container (and of its migration Job); (dict "root" $ "name" $name "svc" $svc). */}}
{{- define "gatehouse.env" -}}
- name: NODE_ENV
  value: production
- name: GATEHOUSE_SERVICE
  value: {{ .name | quote }}
- name: GATEWAY_ASSERTION_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "gatehouse.sharedSecret" .root }}
      key: GATEWAY_ASSERTION_SECRET
{{- if and .svc.redis .root.Values.redis.enabled }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "gatehouse.sharedSecret" .root }}
      key: REDIS_URL
{{- end }}
{{- with .root.Values.telemetry.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- with .root.Values.telemetry.samplerArg }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ . | quote }}
{{- end }}
{{- range $key, $value := .svc.env }}
- name: {{ $key }}
  value: {{ $value | quote }}
{{- end }}
{{- include "gatehouse.serviceUrls" . }}
{{- $secret := default (include "gatehouse.serviceName" .) .svc.secretName }}
{{- range .svc.secretEnv }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ .key }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end }}
{{- end -}}

{{/* Writable places under a read-only root filesystem. */}}
{{- define "gatehouse.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: /var/lib/gatehouse
{{- end -}}
{{- define "gatehouse.volumes" -}}
- name: tmp
  emptyDir: { sizeLimit: 64Mi }
- name: data
  emptyDir: { sizeLimit: 256Mi }
{{- end -}}

{{/* The gateway's config file: values.gatewayConfig with what the chart knows filled in. */}}
{{- define "gatehouse.gatewayConfig" -}}
{{- $root := . -}}
{{- $gw := .Values.services.gateway -}}
{{- $config := deepCopy .Values.gatewayConfig -}}
{{- $upstreams := dict -}}
{{- range $name, $svc := .Values.services -}}
{{- if and $svc.enabled (ne $svc.kind "gateway") -}}
{{- $own := get ($root.Values.gatewayConfig.upstreams | default dict) $name | default dict -}}
{{- $url := printf "http://%s:%v" (include "gatehouse.serviceName" (dict "root" $root "name" $name)) $svc.port -}}
{{- $_ := set $upstreams $name (merge (dict "url" $url) (deepCopy $own)) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $config "upstreams" $upstreams -}}
{{- $_ := set $config "routes" (list) -}}
{{- range .Values.gatewayConfig.routes -}}
{{- if hasKey $upstreams .upstream -}}
{{- $_ := set $config "routes" (append $config.routes .) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $config "listen" (dict "host" "0.0.0.0" "port" $gw.port) -}}
{{- $_ := set $config "admin" (dict "host" "0.0.0.0" "port" $gw.adminPort) -}}
{{- $limits := deepCopy (.Values.gatewayConfig.limits | default dict) -}}
{{- $_ := set $limits "shutdownDeadlineMs" (mul .Values.drain.shutdownDeadlineSeconds 1000) -}}
{{- $_ := set $config "limits" $limits -}}
{{- $_ := set $config "assertion" (dict "keys" (list (dict "kid" "gw1" "secret" (dict "env" "GATEWAY_ASSERTION_SECRET")))) -}}
{{- if .Values.services.auth.enabled -}}
{{- $authUrl := printf "http://%s:%v" (include "gatehouse.serviceName" (dict "root" $root "name" "auth")) .Values.services.auth.port -}}
{{- $auth := deepCopy .Values.gatewayConfig.auth -}}
{{- $_ := set $auth "jwksUrl" (printf "%s/.well-known/jwks.json" $authUrl) -}}
{{- $_ := set $config "auth" $auth -}}
{{- $identity := deepCopy (.Values.gatewayConfig.identity | default dict) -}}
{{- $_ := set $identity "url" $authUrl -}}
{{- if .Values.redis.enabled -}}
{{- $_ := set $identity "redisUrl" (dict "env" "REDIS_URL") -}}
{{- end -}}
{{- $_ := set $config "identity" $identity -}}
{{- end -}}
{{- if .Values.redis.enabled -}}
{{- $rl := deepCopy .Values.gatewayConfig.rateLimits -}}
{{- $_ := set $rl "redisUrl" (dict "env" "REDIS_URL") -}}
{{- $_ := set $config "rateLimits" $rl -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}

{{/*
A service's serviceUrls: each variable set to another service's in-cluster URL. The callee's
NetworkPolicy admits only the callers its allowFrom names, so a call it does not list is a
mistake the chart refuses; a disabled callee leaves the variable out (the caller runs without it).
*/}}
{{- define "gatehouse.serviceUrls" -}}
{{- $ctx := . -}}
{{- range $variable, $other := .svc.serviceUrls }}
{{- $callee := index $ctx.root.Values.services $other | default dict }}
{{- if $callee.enabled }}
{{- if not (has $ctx.name ($callee.allowFrom | default list)) }}
{{- fail (printf "services.%s.serviceUrls.%s names %s, whose allowFrom does not list %s" $ctx.name $variable $other $ctx.name) }}
{{- end }}
- name: {{ $variable }}
  value: {{ printf "http://%s:%v" (include "gatehouse.serviceName" (dict "root" $ctx.root "name" $other)) $callee.port | quote }}
{{- end }}
{{- end }}
{{- end -}}
