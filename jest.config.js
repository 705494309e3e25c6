/** Three projects: `unit` (Pulumi mocks and pure functions, no lab needed), `lab` (real
 *  sshd/dockerd in the lab and the real Pulumi engine; needs `lab/lab.sh up`) and `keycloak` (the
 *  realm as code against a local Keycloak, which its globalSetup starts; needs Java 17+). */
const tsJest = { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] };
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
      testEnvironment: "<rootDir>/tests/environment.ts",
      transform: tsJest,
      testMatch: ["<rootDir>/tests/lab/**/*.test.ts"],
      setupFilesAfterEnv: ["<rootDir>/tests/lab/setup.ts"],
    },
    {
      displayName: "keycloak",
      testEnvironment: "<rootDir>/tests/environment.ts",
      transform: tsJest,
      testMatch: ["<rootDir>/tests/keycloak/**/*.test.ts"],
      globalSetup: "<rootDir>/tests/keycloak/globalSetup.ts",
      globalTeardown: "<rootDir>/tests/keycloak/globalTeardown.ts",
    },
  ],
};
