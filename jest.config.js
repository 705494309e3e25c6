/** Two projects: `unit` (Pulumi mocks and pure functions, no lab needed) and `lab`
 *  (real sshd/dockerd in the lab and the real Pulumi engine; needs `lab/lab.sh up`). */
const tsJest = { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json", diagnostics: { warnOnly: false } }] };
module.exports = {
  // Lab tests drive real daemons and the real engine; unit tests finish in seconds regardless.
  testTimeout: 15 * 60 * 1000,
  projects: [
    {
      displayName: "unit",
      testEnvironment: "node",
      transform: tsJest,
      testMatch: ["<rootDir>/tests/unit/**/*.test.ts"],
    },
    {
      displayName: "lab",
      testEnvironment: "node",
      transform: tsJest,
      testMatch: ["<rootDir>/tests/lab/**/*.test.ts"],
      setupFilesAfterEnv: ["<rootDir>/tests/lab/setup.ts"],
    },
  ],
};
