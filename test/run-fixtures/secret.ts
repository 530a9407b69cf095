// A local-run fixture reading a secret: its value must never be printed.
import { workflow, runContainer, obtainSecret } from "couler";

export default workflow("secret", () => {
  const api = obtainSecret({ API_TOKEN: "token" }, { name: "api" });
  runContainer({ stepName: "use", image: "alpine:3.20", command: ["sh", "-c", 'echo "using $API_TOKEN"; exit 1'], secret: api });
});
