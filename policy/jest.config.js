/** Three projects: `unit` (every rule against realistic inputs, no engine), `workflows`
 *  (actionlint and the commands the workflows call), `engine` (the real Pulumi CLI previews a
 *  stack with this pack; needs the engine and the lab's stack config). */
const tsJest = { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json", diagnostics: { warnOnly: false } }] };
const project = (name, extra = {}) => ({
  displayName: name,
  testEnvironment: "node",
  transform: tsJest,
  testMatch: [`<rootDir>/tests/${name}/**/*.test.ts`],
  ...extra,
});
module.exports = {
  testTimeout: 5 * 60 * 1000,
  projects: [project("unit"), project("workflows"), project("engine")],
};
