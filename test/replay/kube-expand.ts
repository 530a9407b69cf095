/**
 * Kubernetes' own expansion of a container's `command`, `args` and `env` values, which every
 * Kubernetes engine's pods go through after the engine's substitution: `$(NAME)` becomes the
 * value of the container env var NAME when it is defined (earlier env entries only, for env
 * values), otherwise it stays as written; `$$` becomes `$`; any other `$` stays.
 * Follows kubernetes/kubernetes `third_party/forked/golang/expansion/expand.go` (Expand,
 * tryReadVariableName) as used by `pkg/kubelet/kuberuntime` (makeCommandAndArgs,
 * makeEnvironmentVariables).
 */

/** Expand one string against the vars defined so far. */
export function kubeExpand(input: string, vars: ReadonlyMap<string, string>): string {
  let out = "";
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c !== "$" || i + 1 >= input.length) {
      out += c;
      i++;
      continue;
    }
    const n = input[i + 1]!;
    if (n === "$") {
      out += "$";
      i += 2;
      continue;
    }
    if (n === "(") {
      const close = input.indexOf(")", i + 2);
      if (close < 0) {
        // unterminated: written as is
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const v = vars.get(name);
      out += v !== undefined ? v : `$(${name})`;
      i = close + 1;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/**
 * A container's env after expansion (each value sees the ones before it), then its command
 * and args expanded against the whole env.
 */
export function kubeContainer(argv: readonly string[], env: readonly { name: string; value: string }[]): { argv: string[]; env: Record<string, string> } {
  const vars = new Map<string, string>();
  for (const e of env) vars.set(e.name, kubeExpand(e.value, vars));
  return { argv: argv.map((a) => kubeExpand(a, vars)), env: Object.fromEntries(vars) };
}
