// Every lab test file closes the SSH connections its process pooled.
import { closeAllSessions } from "../../providers/ssh/connection";

afterAll(async () => {
    await closeAllSessions();
});
