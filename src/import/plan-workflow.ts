/**
 * The workflow as a whole: `workflow()` options (metadata, cron, reusable, timeouts,
 * scheduling), `param()` declarations, and the pod-wide settings the DSL sets with calls
 * (`addVolume`, `createWorkflowVolume`, `emptyDirVolume`, `addImagePullSecret`, `setDns`,
 * `setSecurityContext`).
 */
import { leftovers, type Obj, type PlanContext } from "./plan-context.js";
import { arr, call, jsonCode, obj, str, type Code, type Stmt } from "./plan.js";
import type { Path } from "./yaml-source.js";

const SPEC_KEYS = [
  "entrypoint", "arguments", "templates", "onExit", "serviceAccountName", "activeDeadlineSeconds", "ttlStrategy", "parallelism", "podGC",
  "nodeSelector", "tolerations", "affinity", "imagePullSecrets", "dnsPolicy", "dnsConfig", "securityContext", "volumes", "volumeClaimTemplates",
];
const CRON_KEYS = ["schedule", "schedules", "timezone", "concurrencyPolicy", "startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit", "suspend", "workflowSpec"];

export function planWorkflowParts(ctx: PlanContext, d: Obj, spec: Obj, specPath: Path): { options?: Code; prelude: Stmt[] } {
  const notes = ctx.topNotes;
  const drop = (path: Path, what: string, value: unknown, why: string) => notes.push(...ctx.drop(path, what, value, why));
  const opts: [string, Code | undefined][] = [];
  const num = (x: unknown): Code | undefined => (x === undefined || !Number.isFinite(Number(x)) ? undefined : { k: "num", v: Number(x) });
  const s = (x: unknown): Code | undefined => (x === undefined ? undefined : str(String(x)));
  const strMap = (x: unknown): Code | undefined => (x && typeof x === "object" ? obj(Object.entries(x as Obj).map(([k, v]) => [k, str(String(v))] as const)) : undefined);

  const md = (d.metadata ?? {}) as Obj;
  for (const k of leftovers(md, ["name", "generateName", "namespace", "labels", "annotations"])) drop(["metadata", k], `metadata.${k}`, md[k], "the DSL has no such option");
  if (d.kind === "CronWorkflow") {
    const c = d.spec as Obj;
    const schedules = (c.schedules ?? (c.schedule !== undefined ? [c.schedule] : [])) as unknown[];
    if (schedules.length > 1) drop(["spec", "schedules"], "spec.schedules", schedules.slice(1), "cronConfig takes one schedule; the first is imported");
    opts.push([
      "cronConfig",
      obj([
        ["schedule", s(schedules[0] ?? "")],
        ["timezone", s(c.timezone)],
        ["concurrencyPolicy", s(c.concurrencyPolicy)],
        ["startingDeadlineSeconds", num(c.startingDeadlineSeconds)],
        ["successfulJobsHistoryLimit", num(c.successfulJobsHistoryLimit)],
        ["failedJobsHistoryLimit", num(c.failedJobsHistoryLimit)],
        ["suspend", c.suspend !== undefined ? { k: "bool", v: Boolean(c.suspend) } : undefined],
      ]),
    ]);
    for (const k of leftovers(c, CRON_KEYS)) drop(["spec", k], `spec.${k}`, c[k], "cronConfig has no such option");
  }
  if (d.kind === "WorkflowTemplate") opts.push(["reusable", { k: "bool", v: true }]);
  opts.push(["timeout", num(spec.activeDeadlineSeconds)]);
  const ttl = spec.ttlStrategy as Obj | undefined;
  if (ttl) {
    opts.push(["timeToClean", num(ttl.secondsAfterCompletion)]);
    for (const k of leftovers(ttl, ["secondsAfterCompletion"])) drop([...specPath, "ttlStrategy", k], `ttlStrategy.${k}`, ttl[k], "timeToClean is the time after completion only");
  }
  opts.push(["serviceAccount", s(spec.serviceAccountName)], ["namespace", s(md.namespace)], ["labels", strMap(md.labels)], ["annotations", strMap(md.annotations)]);
  opts.push(["parallelism", num(spec.parallelism)]);
  if (spec.podGC) {
    opts.push(["podGC", s(spec.podGC.strategy)]);
    for (const k of leftovers(spec.podGC, ["strategy"])) drop([...specPath, "podGC", k], `podGC.${k}`, spec.podGC[k], "podGC takes a strategy only");
  }
  opts.push(["nodeSelector", strMap(spec.nodeSelector)]);
  if (spec.tolerations !== undefined) opts.push(["tolerations", jsonCode(spec.tolerations)]);
  if (spec.affinity !== undefined) opts.push(["affinity", jsonCode(spec.affinity)]);
  for (const k of leftovers(spec, SPEC_KEYS)) drop([...specPath, k], k, spec[k], "the DSL has no such workflow option");

  const prelude: Stmt[] = [];
  const args = (spec.arguments ?? {}) as Obj;
  for (const k of leftovers(args, ["parameters"])) drop([...specPath, "arguments", k], `arguments.${k}`, args[k], "workflow arguments are parameters only");
  ((args.parameters ?? []) as Obj[]).forEach((p, i) => {
    const at = [...specPath, "arguments", "parameters", i];
    const v = ctx.fresh(String(p.name));
    ctx.params.set(String(p.name), v);
    const o = obj([["default", s(p.value)], ["description", s(p.description)]]);
    const extra = leftovers(p, ["name", "value", "description"]);
    const stmtNotes = extra.flatMap((k) => ctx.drop([...at, k], `parameter ${p.name}: ${k}`, p[k], "param() has no such option"));
    const e = o.k === "obj" && o.props.length ? call(ctx.use("param"), str(String(p.name)), o) : call(ctx.use("param"), str(String(p.name)));
    prelude.push({ k: "const", name: v, e, ...(stmtNotes.length ? { notes: stmtNotes } : {}) });
  });
  ((spec.volumes ?? []) as Obj[]).forEach((vol, i) => {
    const at = [...specPath, "volumes", i];
    const name = String(vol.name);
    let e: Code | undefined;
    if (vol.persistentVolumeClaim && leftovers(vol, ["name", "persistentVolumeClaim"]).length === 0) {
      const c = vol.persistentVolumeClaim as Obj;
      e = call(ctx.use("addVolume"), str(name), obj([["claimName", s(c.claimName)], ["readOnly", c.readOnly !== undefined ? { k: "bool", v: Boolean(c.readOnly) } : undefined]]));
    } else if (vol.emptyDir && leftovers(vol, ["name", "emptyDir"]).length === 0 && leftovers(vol.emptyDir, ["medium", "sizeLimit"]).length === 0) {
      const o = obj([["medium", s(vol.emptyDir.medium)], ["sizeLimit", s(vol.emptyDir.sizeLimit)]]);
      e = call(ctx.use("emptyDirVolume"), str(name), ...(o.k === "obj" && o.props.length ? [o] : []));
    }
    if (!e) {
      drop(at, `volume ${name}`, vol, "only claims and emptyDir volumes have a DSL form");
      return;
    }
    const v = ctx.fresh(name);
    ctx.volumes.set(name, v);
    prelude.push({ k: "const", name: v, e });
  });
  ((spec.volumeClaimTemplates ?? []) as Obj[]).forEach((vct, i) => {
    const at = [...specPath, "volumeClaimTemplates", i];
    const name = String(vct.metadata?.name);
    const sp = (vct.spec ?? {}) as Obj;
    const size = sp.resources?.requests?.storage;
    const odd = [...leftovers(vct, ["metadata", "spec"]), ...leftovers(vct.metadata, ["name"]), ...leftovers(sp, ["accessModes", "resources", "storageClassName"])];
    if (size === undefined || odd.length) {
      drop(at, `volume claim ${name}`, vct, "only a name, size, access modes and storage class have a DSL form");
      return;
    }
    const modes = sp.accessModes as string[] | undefined;
    const defaultModes = modes?.length === 1 && modes[0] === "ReadWriteOnce";
    const v = ctx.fresh(name);
    ctx.volumes.set(name, v);
    prelude.push({
      k: "const",
      name: v,
      e: call(ctx.use("createWorkflowVolume"), str(name), obj([["size", s(size)], ["accessModes", modes && !defaultModes ? arr(modes.map((m) => str(m))) : undefined], ["storageClass", s(sp.storageClassName)]])),
    });
  });
  for (const sec of (spec.imagePullSecrets ?? []) as Obj[]) prelude.push({ k: "expr", e: call(ctx.use("addImagePullSecret"), str(String(sec.name))) });
  if (spec.dnsPolicy !== undefined || spec.dnsConfig !== undefined) {
    prelude.push({ k: "expr", e: call(ctx.use("setDns"), obj([["policy", s(spec.dnsPolicy)], ["config", spec.dnsConfig !== undefined ? jsonCode(spec.dnsConfig) : undefined]])) });
  }
  if (spec.securityContext !== undefined) prelude.push({ k: "expr", e: call(ctx.use("setSecurityContext"), jsonCode(spec.securityContext)) });
  const o = obj(opts);
  return { ...(o.k === "obj" && o.props.length ? { options: o } : {}), prelude };
}
