// A local-run fixture that fails: a step that keeps failing after its retries, a step that
// times out, and an exit handler that only runs on failure.
import { workflow, runContainer, setExitHandler, WFStatus, concurrent } from "couler";

export default workflow("failing", () => {
  concurrent([
    () => runContainer({ stepName: "flaky", image: "alpine:3.20", command: ["sh", "-c", "echo trying; exit 1"], retry: { limit: 2, backoff: { duration: 0.05 } } }),
    () => runContainer({ stepName: "slow", image: "alpine:3.20", command: ["sleep", "30"], timeout: 0.3 }),
  ]);
  setExitHandler(WFStatus.Failed, () => runContainer({ stepName: "alert", image: "alpine:3.20", command: ["echo", "it failed"] }));
  setExitHandler(WFStatus.Succeeded, () => runContainer({ stepName: "celebrate", image: "alpine:3.20", command: ["echo", "it worked"] }));
});
