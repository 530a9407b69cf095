/** The workflow document around the templates: Workflow, CronWorkflow or WorkflowTemplate, and the optional Secret file. */
import type { CompileContext, OutputFile } from "../backend.js";
import type { WorkflowIR } from "../../src/ir/types.js";
import { toYaml } from "../common/yaml.js";

type Json = Record<string, unknown>;

/** The files of one workflow: `entry` and `exitName` name graph templates among `templates`. */
export function workflowFiles(wf: WorkflowIR, ctx: CompileContext, wfName: string, entry: string, exitName: string | undefined, templates: Json[]): OutputFile[] {
  const c = wf.config;
  const spec: Json = { entrypoint: entry };
  if (wf.params.length) {
    spec.arguments = {
      parameters: wf.params.map((p) => {
        const out: Json = { name: p.name };
        if (p.default !== undefined) out.value = p.default;
        if (p.description !== undefined) out.description = p.description;
        return out;
      }),
    };
  }
  if (c.serviceAccount !== undefined) spec.serviceAccountName = c.serviceAccount;
  if (c.timeout !== undefined) spec.activeDeadlineSeconds = Math.ceil(c.timeout);
  if (c.timeToClean !== undefined) spec.ttlStrategy = { secondsAfterCompletion: Math.ceil(c.timeToClean) };
  if (c.parallelism !== undefined) spec.parallelism = c.parallelism;
  if (c.podGC !== undefined) spec.podGC = { strategy: c.podGC };
  if (exitName) spec.onExit = exitName;
  if (c.nodeSelector) spec.nodeSelector = { ...c.nodeSelector };
  if (c.tolerations?.length) spec.tolerations = c.tolerations.map((t) => ({ ...t }));
  if (c.affinity) spec.affinity = c.affinity;
  if (c.imagePullSecrets?.length) spec.imagePullSecrets = c.imagePullSecrets.map((name) => ({ name }));
  if (c.dnsPolicy) spec.dnsPolicy = c.dnsPolicy;
  if (c.dnsConfig) spec.dnsConfig = c.dnsConfig;
  if (c.securityContext) spec.securityContext = c.securityContext;
  const volumes = (c.volumes ?? []).filter((v) => v.kind !== "claim");
  if (volumes.length) {
    spec.volumes = volumes.map((v) =>
      v.kind === "pvc"
        ? { name: v.name, persistentVolumeClaim: { claimName: v.claimName, ...(v.readOnly ? { readOnly: true } : {}) } }
        : { name: v.name, emptyDir: { ...(v.medium ? { medium: v.medium } : {}), ...(v.sizeLimit ? { sizeLimit: v.sizeLimit } : {}) } },
    );
  }
  const claims = (c.volumes ?? []).filter((v) => v.kind === "claim");
  if (claims.length) {
    spec.volumeClaimTemplates = claims.map((v) => ({
      metadata: { name: v.name },
      spec: {
        accessModes: [...v.accessModes],
        resources: { requests: { storage: v.size } },
        ...(v.storageClass !== undefined ? { storageClassName: v.storageClass } : {}),
      },
    }));
  }
  spec.templates = templates;

  const metadata: Json = {};
  if (c.namespace !== undefined) metadata.namespace = c.namespace;
  if (c.labels) metadata.labels = { ...c.labels };
  if (c.annotations) metadata.annotations = { ...c.annotations };
  let doc: Json;
  if (c.cron && c.reusable) {
    ctx.diagnostics.error("unsupported", "a workflow cannot be both a cron schedule and a reusable template (target argo)", wf.loc);
  }
  if (c.cron) {
    const cron = c.cron;
    const cronSpec: Json = { schedules: [cron.schedule] };
    if (cron.timezone !== undefined) cronSpec.timezone = cron.timezone;
    if (cron.concurrencyPolicy !== undefined) cronSpec.concurrencyPolicy = cron.concurrencyPolicy;
    if (cron.startingDeadlineSeconds !== undefined) cronSpec.startingDeadlineSeconds = cron.startingDeadlineSeconds;
    if (cron.successfulJobsHistoryLimit !== undefined) cronSpec.successfulJobsHistoryLimit = cron.successfulJobsHistoryLimit;
    if (cron.failedJobsHistoryLimit !== undefined) cronSpec.failedJobsHistoryLimit = cron.failedJobsHistoryLimit;
    if (cron.suspend !== undefined) cronSpec.suspend = cron.suspend;
    cronSpec.workflowSpec = spec;
    doc = { apiVersion: "argoproj.io/v1alpha1", kind: "CronWorkflow", metadata: { name: wfName, ...metadata }, spec: cronSpec };
  } else if (c.reusable) {
    doc = { apiVersion: "argoproj.io/v1alpha1", kind: "WorkflowTemplate", metadata: { name: wfName, ...metadata }, spec };
  } else {
    doc = { apiVersion: "argoproj.io/v1alpha1", kind: "Workflow", metadata: { generateName: `${wfName}-`, ...metadata }, spec };
  }
  const files: OutputFile[] = [{ path: `${wfName}.yaml`, content: toYaml(doc) }];
  if (ctx.options["emit-secrets"] === "true" && wf.secrets?.length) {
    const docs = wf.secrets.map((s) => {
      const data = ctx.secretValues?.get(s.name) ?? {};
      return {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: s.name, ...(c.namespace !== undefined ? { namespace: c.namespace } : {}) },
        type: "Opaque",
        stringData: Object.fromEntries(s.keys.map((k) => [k, data[k] ?? ""])),
      };
    });
    files.push({ path: `${wfName}-secrets.yaml`, content: docs.map((d) => toYaml(d)).join("---\n") });
  }
  return files;

}
