// A local-run fixture: a run-time list fanned out by map and fanned back in, when/otherwise
// on the sum, an output file, an execWhile counter and an exit handler reading the status.
// Files go under a folder named after the running process, so parallel test runs never share one.
import {
  workflow,
  runScript,
  runContainer,
  map,
  when,
  equal,
  smaller,
  execWhile,
  setExitHandler,
  param,
  createParameterArtifact,
  workflowStatus,
} from "couler";

const dir = `/tmp/couler-run-fixture-${process.pid}`;

export default workflow("pipeline", () => {
  const n = param("n", { default: 3 });
  const gen = runScript({
    stepName: "gen",
    image: "node:22-alpine",
    command: ["node"],
    source: "const n = Number(process.argv[2]);\nconsole.log(JSON.stringify(Array.from({ length: n }, (_, i) => i + 1)));\n",
    args: [n],
  });
  const squares = map(
    (x) => runContainer({ stepName: "square", image: "alpine:3.20", command: ["sh", "-c", `echo $((${x} * ${x}))`] }),
    gen.result,
  );
  const total = runContainer({
    stepName: "total",
    image: "node:22-alpine",
    command: ["node", "-e", `const s = JSON.parse(process.argv[1]).reduce((a, b) => a + Number(b), 0); require("fs").mkdirSync("${dir}", { recursive: true }); require("fs").writeFileSync("${dir}/total", String(s)); console.log(s)`],
    args: [squares!.result],
    output: createParameterArtifact(`${dir}/total`, { name: "sum" }),
  });
  when(equal(total.outputs.sum!, "14"), () =>
    runContainer({ stepName: "expected", image: "alpine:3.20", command: ["echo", "the sum is 14"] }),
  ).otherwise(() => runContainer({ stepName: "unexpected", image: "alpine:3.20", command: ["echo"], args: [total.result] }));
  execWhile(smaller(3), () =>
    runContainer({
      stepName: "count",
      image: "alpine:3.20",
      command: ["sh", "-c", `mkdir -p ${dir}; n=$(( $(cat ${dir}/count 2>/dev/null || echo 0) + 1 )); echo $n > ${dir}/count; echo $n`],
    }),
    { stepName: "count-to-3" },
  );
  setExitHandler(() =>
    runContainer({ stepName: "report", image: "alpine:3.20", command: ["sh", "-c", `rm -rf ${dir}; echo "$1"`, "--"], args: [`status=${workflowStatus()}`] }),
  );
});
