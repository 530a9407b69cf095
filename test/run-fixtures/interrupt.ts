// A local-run fixture for Ctrl-C: a long step, a step after it, and an exit handler.
import { workflow, runContainer, setExitHandler } from "couler";

export default workflow("interrupt", () => {
  runContainer({ stepName: "long", image: "alpine:3.20", command: ["sleep", "30"] });
  runContainer({ stepName: "next", image: "alpine:3.20", command: ["echo", "never"] });
  setExitHandler(() => runContainer({ stepName: "goodbye", image: "alpine:3.20", command: ["echo", "goodbye"] }));
});
